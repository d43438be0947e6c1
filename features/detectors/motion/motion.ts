/**
 * Motion gate pixel work: pure functions, run inside the inference worker so the event loop
 * never touches pixels. The per-camera state (reference image, mask) lives with the pipeline.
 */
export const GRID_W = 80;
export const GRID_H = 60;

/** Box-averaged grayscale at GRID_W × GRID_H (averaging also removes most codec noise). */
export function downscaleGray(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(GRID_W * GRID_H);
  for (let gy = 0; gy < GRID_H; gy++) {
    const y0 = Math.floor((gy * height) / GRID_H);
    const y1 = Math.max(y0 + 1, Math.floor(((gy + 1) * height) / GRID_H));
    for (let gx = 0; gx < GRID_W; gx++) {
      const x0 = Math.floor((gx * width) / GRID_W);
      const x1 = Math.max(x0 + 1, Math.floor(((gx + 1) * width) / GRID_W));
      let sum = 0;
      let n = 0;
      // Every second pixel each way: a quarter of the reads, same average within noise.
      for (let y = y0; y < y1; y += 2) {
        let i = (y * width + x0) * 3;
        for (let x = x0; x < x1; x += 2, i += 6) {
          sum += rgb[i]! * 77 + rgb[i + 1]! * 150 + rgb[i + 2]! * 29;
          n++;
        }
      }
      out[gy * GRID_W + gx] = n ? Math.round(sum / n / 256) : 0;
    }
  }
  return out;
}

function inPolygon(x: number, y: number, poly: ReadonlyArray<readonly [number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Grid cells whose centre lies in any polygon (normalised coordinates), grown by `marginCells`
 * so an object entering the zone is seen one cell early. No polygons → whole image.
 */
export function zoneMask(
  polygons: ReadonlyArray<ReadonlyArray<readonly [number, number]>>,
  marginCells = 1,
): Uint8Array {
  const mask = new Uint8Array(GRID_W * GRID_H);
  if (polygons.length === 0) return mask.fill(1);
  for (let gy = 0; gy < GRID_H; gy++) {
    for (let gx = 0; gx < GRID_W; gx++) {
      const x = (gx + 0.5) / GRID_W;
      const y = (gy + 0.5) / GRID_H;
      if (polygons.some((p) => inPolygon(x, y, p))) mask[gy * GRID_W + gx] = 1;
    }
  }
  if (marginCells <= 0) return mask;
  const grown = new Uint8Array(mask);
  for (let gy = 0; gy < GRID_H; gy++) {
    for (let gx = 0; gx < GRID_W; gx++) {
      if (!mask[gy * GRID_W + gx]) continue;
      for (let dy = -marginCells; dy <= marginCells; dy++) {
        for (let dx = -marginCells; dx <= marginCells; dx++) {
          const x = gx + dx;
          const y = gy + dy;
          if (x >= 0 && y >= 0 && x < GRID_W && y < GRID_H) grown[y * GRID_W + x] = 1;
        }
      }
    }
  }
  return grown;
}

export interface MotionMeasure {
  /** Masked cells whose gray level changed by more than the threshold. */
  changed: number;
  /** Cells in the mask. */
  area: number;
}

export function measureMotion(
  ref: Uint8Array,
  cur: Uint8Array,
  mask: Uint8Array,
  pixelThreshold: number,
): MotionMeasure {
  let changed = 0;
  let area = 0;
  for (let i = 0; i < cur.length; i++) {
    if (!mask[i]) continue;
    area++;
    if (Math.abs(cur[i]! - ref[i]!) > pixelThreshold) changed++;
  }
  return { changed, area };
}
