/** Zone geometry in normalised image coordinates (0..1, origin top-left). */
import type { NBox, ZoneView } from '../plugin-api/contract.js';

export { iou } from '../tracker/tracker.js';

/** Ray casting; points exactly on an edge may fall either way, which is fine at pixel scale. */
export function pointInPolygon(
  x: number,
  y: number,
  polygon: ReadonlyArray<readonly [number, number]>,
): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Where an object stands: the middle of the bottom edge. A parked car's box reaches far above
 * the kerb line in an oblique view, so its centre would say "in the lane" when its wheels are not.
 */
export function bottomCentre(b: NBox): [number, number] {
  return [(b.x1 + b.x2) / 2, b.y2];
}

export function centre(b: NBox): [number, number] {
  return [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2];
}

/** First zone (in config order) whose polygon holds the box's bottom-centre, or null. */
export function zoneOf<Z extends ZoneView>(b: NBox, zones: readonly Z[]): Z | null {
  const [x, y] = bottomCentre(b);
  for (const z of zones) if (pointInPolygon(x, y, z.polygon)) return z;
  return null;
}

/** Zones the rule should look at: all it was given, or only the listed ids. */
export function filterZones<Z extends ZoneView>(
  zones: readonly Z[],
  only: readonly string[] | undefined,
): Z[] {
  if (!only || only.length === 0) return [...zones];
  const set = new Set(only);
  return zones.filter((z) => set.has(z.id));
}

/** A coarse place (box centre on a 20×20 grid) so the pipeline can dedup across new track ids. */
export function placeKeyOf(b: NBox, prefix = 'p'): string {
  const [x, y] = centre(b);
  return `${prefix}:${Math.floor(x * 20)}:${Math.floor(y * 20)}`;
}

/** Distance between box centres, in units of the larger dimension of `ref`. */
export function relativeDistance(a: NBox, ref: NBox): number {
  const [ax, ay] = centre(a);
  const [rx, ry] = centre(ref);
  return Math.hypot(ax - rx, ay - ry) / Math.max(ref.x2 - ref.x1, ref.y2 - ref.y1, 1e-6);
}

/** Smallest box holding all of `boxes` (which must not be empty). */
export function unionBox(boxes: readonly NBox[]): NBox {
  return boxes.reduce(
    (u, b) => ({
      x1: Math.min(u.x1, b.x1),
      y1: Math.min(u.y1, b.y1),
      x2: Math.max(u.x2, b.x2),
      y2: Math.max(u.y2, b.y2),
    }),
    { x1: 1, y1: 1, x2: 0, y2: 0 },
  );
}

/** Bounding box of a polygon. */
export function polygonBox(polygon: ReadonlyArray<readonly [number, number]>): NBox {
  const xs = polygon.map((p) => p[0]);
  const ys = polygon.map((p) => p[1]);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}
