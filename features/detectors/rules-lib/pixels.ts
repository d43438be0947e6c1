/**
 * Cheap pixel views for the pixel rules: the frame reduced to a coarse grid of cells, one pass
 * over the RGB buffer (a 512×512 frame costs about a millisecond), so a rule can afford it on
 * every sample of every camera.
 */
import type { FrameView, NBox } from '../plugin-api/contract.js';
import { pointInPolygon } from './geometry.js';

export interface CellGrid {
  gw: number;
  gh: number;
  /** Mean R, G, B per cell (0..255), cell-major: [r0, g0, b0, r1, …]. */
  rgb: Float32Array;
  /** Mean luminance per cell. */
  luma: Float32Array;
  /** Mean absolute horizontal luminance gradient per cell: texture; smoke and haze lower it. */
  texture: Float32Array;
  /** Share of the cell's pixels that pass the fire-colour test (see isFirePixel). */
  fire: Float32Array;
}

/**
 * Fire-coloured pixel, after the RGB rules of Chen, Wu & Chiou (ICIP 2004) with thresholds
 * raised for daylight street footage: flames emit, so they are near the top of the sensor's
 * range (red ≥ 220) with a yellow component (green ≥ 120) and red ≥ green > blue. A wooden
 * floor (one-by-one-person-detection.mp4: median RGB 178/118/70) fails on brightness;
 * traffic cones and orange clothes can pass and are told apart by flicker, not colour.
 */
export function isFirePixel(r: number, g: number, b: number): boolean {
  return r >= 220 && g >= 120 && r >= g && g > b && r - b >= 90;
}

/**
 * Reduce a frame to gw × gh cells. Returns null when the frame carries no (or a short) buffer.
 * `stride` reads every n-th pixel each way. Measured on the clips: stride 2 saved ~1 ms of
 * ~3 ms per 512² frame but made the texture estimate noisy enough to raise the smoke
 * heuristic's unmasked false positives from 4/335 to 18/279 samples, so the default reads all.
 */
export function cellGrid(frame: FrameView, gw: number, gh: number, stride = 1): CellGrid | null {
  const { rgb, width: w, height: h } = frame;
  if (!rgb || w <= 0 || h <= 0 || rgb.length < w * h * 3) return null;
  const n = gw * gh;
  const sum = new Float64Array(n * 3);
  const tex = new Float64Array(n);
  const fire = new Float64Array(n);
  const count = new Float64Array(n);
  const colCell = new Int32Array(w);
  for (let x = 0; x < w; x++) colCell[x] = Math.min(gw - 1, Math.floor((x * gw) / w));
  const s = Math.max(1, Math.floor(stride));
  for (let y = 0; y < h; y += s) {
    const rowBase = Math.min(gh - 1, Math.floor((y * gh) / h)) * gw;
    let prevL = -1;
    let off = y * w * 3;
    for (let x = 0; x < w; x += s, off += 3 * s) {
      const r = rgb[off]!;
      const g = rgb[off + 1]!;
      const b = rgb[off + 2]!;
      const c = rowBase + colCell[x]!;
      sum[c * 3] = sum[c * 3]! + r;
      sum[c * 3 + 1] = sum[c * 3 + 1]! + g;
      sum[c * 3 + 2] = sum[c * 3 + 2]! + b;
      const l = 0.299 * r + 0.587 * g + 0.114 * b;
      if (prevL >= 0) tex[c] = tex[c]! + Math.abs(l - prevL);
      prevL = l;
      if (isFirePixel(r, g, b)) fire[c] = fire[c]! + 1;
      count[c] = count[c]! + 1;
    }
  }
  const out: CellGrid = {
    gw,
    gh,
    rgb: new Float32Array(n * 3),
    luma: new Float32Array(n),
    texture: new Float32Array(n),
    fire: new Float32Array(n),
  };
  for (let c = 0; c < n; c++) {
    const k = count[c]! || 1;
    const r = sum[c * 3]! / k;
    const g = sum[c * 3 + 1]! / k;
    const b = sum[c * 3 + 2]! / k;
    out.rgb[c * 3] = r;
    out.rgb[c * 3 + 1] = g;
    out.rgb[c * 3 + 2] = b;
    out.luma[c] = 0.299 * r + 0.587 * g + 0.114 * b;
    out.texture[c] = tex[c]! / k;
    out.fire[c] = fire[c]! / k;
  }
  return out;
}

/** 1 for cells whose centre lies in the polygon. */
export function polygonCellMask(
  polygon: ReadonlyArray<readonly [number, number]>,
  gw: number,
  gh: number,
): Uint8Array {
  const m = new Uint8Array(gw * gh);
  for (let cy = 0; cy < gh; cy++) {
    for (let cx = 0; cx < gw; cx++) {
      if (pointInPolygon((cx + 0.5) / gw, (cy + 0.5) / gh, polygon)) m[cy * gw + cx] = 1;
    }
  }
  return m;
}

/** 1 for cells touched by any box, each box grown by `grow` of its size on every side. */
export function boxCellMask(boxes: readonly NBox[], gw: number, gh: number, grow = 0.1): Uint8Array {
  const m = new Uint8Array(gw * gh);
  for (const b of boxes) {
    const dx = (b.x2 - b.x1) * grow;
    const dy = (b.y2 - b.y1) * grow;
    const x1 = Math.max(0, Math.floor((b.x1 - dx) * gw));
    const x2 = Math.min(gw - 1, Math.floor((b.x2 + dx) * gw));
    const y1 = Math.max(0, Math.floor((b.y1 - dy) * gh));
    const y2 = Math.min(gh - 1, Math.floor((b.y2 + dy) * gh));
    for (let y = y1; y <= y2; y++) for (let x = x1; x <= x2; x++) m[y * gw + x] = 1;
  }
  return m;
}

export interface Component {
  cells: number[];
  /** Normalised bounding box of the cells. */
  box: NBox;
}

/** 4-connected components of the set cells. */
export function components(mask: Uint8Array, gw: number, gh: number, minCells = 1): Component[] {
  const seen = new Uint8Array(mask.length);
  const out: Component[] = [];
  const stack: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i] || seen[i]) continue;
    const cells: number[] = [];
    seen[i] = 1;
    stack.push(i);
    let x1 = gw;
    let y1 = gh;
    let x2 = -1;
    let y2 = -1;
    while (stack.length) {
      const c = stack.pop()!;
      cells.push(c);
      const x = c % gw;
      const y = (c - x) / gw;
      x1 = Math.min(x1, x);
      x2 = Math.max(x2, x);
      y1 = Math.min(y1, y);
      y2 = Math.max(y2, y);
      const nb = [x > 0 ? c - 1 : -1, x < gw - 1 ? c + 1 : -1, y > 0 ? c - gw : -1, y < gh - 1 ? c + gw : -1];
      for (const d of nb) {
        if (d >= 0 && mask[d] && !seen[d]) {
          seen[d] = 1;
          stack.push(d);
        }
      }
    }
    if (cells.length >= minCells) {
      out.push({ cells, box: { x1: x1 / gw, y1: y1 / gh, x2: (x2 + 1) / gw, y2: (y2 + 1) / gh } });
    }
  }
  return out;
}

/**
 * Per-cell illumination gain cur/bg, averaged over a (2r+1)² window of cells (integral images,
 * O(cells)). Auto-exposure and white balance drift over minutes and not evenly across the frame
 * (vtest.avi: the road brightens more than the lawn), while an object or smoke is local: scaling
 * the background by the local gain removes the first and keeps most of the second.
 */
export function localGain(
  cur: Float32Array,
  bg: Float32Array,
  gw: number,
  gh: number,
  r: number,
  /** Cells to leave out of the estimate (the changes themselves, people): 1 = skip. */
  skip?: Uint8Array,
): Float32Array {
  const W1 = gw + 1;
  const ic = new Float64Array(W1 * (gh + 1));
  const ib = new Float64Array(W1 * (gh + 1));
  for (let y = 0; y < gh; y++) {
    let rc = 0;
    let rb = 0;
    for (let x = 0; x < gw; x++) {
      if (!skip?.[y * gw + x]) {
        rc += cur[y * gw + x]!;
        rb += bg[y * gw + x]!;
      }
      ic[(y + 1) * W1 + x + 1] = ic[y * W1 + x + 1]! + rc;
      ib[(y + 1) * W1 + x + 1] = ib[y * W1 + x + 1]! + rb;
    }
  }
  const out = new Float32Array(gw * gh);
  for (let y = 0; y < gh; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(gh, y + r + 1);
    for (let x = 0; x < gw; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(gw, x + r + 1);
      const sc = ic[y1 * W1 + x1]! - ic[y0 * W1 + x1]! - ic[y1 * W1 + x0]! + ic[y0 * W1 + x0]!;
      const sb = ib[y1 * W1 + x1]! - ib[y0 * W1 + x1]! - ib[y1 * W1 + x0]! + ib[y0 * W1 + x0]!;
      out[y * gw + x] = sb > 0 ? sc / sb : 1;
    }
  }
  return out;
}
