/** Planar geometry on [x, y] pairs (lon/lat degrees or normalised image coordinates). */
export type Pt = readonly [number, number];

function orient(a: Pt, b: Pt, c: Pt): number {
  return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

function onSegment(a: Pt, b: Pt, p: Pt): boolean {
  return (
    Math.min(a[0], b[0]) <= p[0] &&
    p[0] <= Math.max(a[0], b[0]) &&
    Math.min(a[1], b[1]) <= p[1] &&
    p[1] <= Math.max(a[1], b[1])
  );
}

function segmentsIntersect(a: Pt, b: Pt, c: Pt, d: Pt): boolean {
  const o1 = orient(a, b, c);
  const o2 = orient(a, b, d);
  const o3 = orient(c, d, a);
  const o4 = orient(c, d, b);
  if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0))) return true;
  if (o1 === 0 && onSegment(a, b, c)) return true;
  if (o2 === 0 && onSegment(a, b, d)) return true;
  if (o3 === 0 && onSegment(c, d, a)) return true;
  if (o4 === 0 && onSegment(c, d, b)) return true;
  return false;
}

/**
 * First pair of non-adjacent edges of a ring that cross or touch, or null when the ring is
 * simple. `ring` is open (last point not repeated). Edges are swept in x order so rings with
 * thousands of vertices stay fast.
 */
export function findSelfIntersection(ring: readonly Pt[]): [number, number] | null {
  const n = ring.length;
  if (n < 3) return null;
  const edges = Array.from({ length: n }, (_, i) => {
    const a = ring[i]!;
    const b = ring[(i + 1) % n]!;
    return { i, a, b, minX: Math.min(a[0], b[0]), maxX: Math.max(a[0], b[0]) };
  });
  edges.sort((p, q) => p.minX - q.minX);
  for (let s = 0; s < n; s++) {
    const e = edges[s]!;
    for (let t = s + 1; t < n; t++) {
      const f = edges[t]!;
      if (f.minX > e.maxX) break;
      const gap = Math.abs(e.i - f.i);
      if (gap === 1 || gap === n - 1) {
        // Adjacent edges share one vertex; they are bad only if they fold back onto each other.
        const shared = gap === 1 ? Math.max(e.i, f.i) : 0;
        const p = ring[shared]!;
        const prev = ring[(shared - 1 + n) % n]!;
        const next = ring[(shared + 1) % n]!;
        if (
          orient(prev, p, next) === 0 &&
          (next[0] - p[0]) * (prev[0] - p[0]) + (next[1] - p[1]) * (prev[1] - p[1]) > 0
        ) {
          return [Math.min(e.i, f.i), Math.max(e.i, f.i)];
        }
        continue;
      }
      if (segmentsIntersect(e.a, e.b, f.a, f.b)) return [Math.min(e.i, f.i), Math.max(e.i, f.i)];
    }
  }
  return null;
}

/** Signed area (shoelace; positive for counter-clockwise rings in lon/lat), open or closed ring. */
export function ringArea(ring: readonly Pt[]): number {
  let s = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    s += (ring[j]![0] - ring[i]![0]) * (ring[j]![1] + ring[i]![1]);
  }
  return s / 2;
}

/** 1 inside, 0 on the boundary, -1 outside. Boundary is exact (orientation test), not fuzzy. */
export function pointInRing(x: number, y: number, ring: readonly Pt[]): 1 | 0 | -1 {
  let inside = false;
  const n = ring.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const a = ring[j]!;
    const b = ring[i]!;
    if ((x === a[0] && y === a[1]) || (orient(a, b, [x, y]) === 0 && onSegment(a, b, [x, y]))) {
      return 0;
    }
    if (b[1] > y !== a[1] > y && x < ((a[0] - b[0]) * (y - b[1])) / (a[1] - b[1]) + b[0]) inside = !inside;
  }
  return inside ? 1 : -1;
}

/**
 * Polygon (outer ring + holes) containment counting the boundary as inside: a point on an
 * edge belongs to every polygon sharing that edge, and the index then breaks the tie.
 */
export function polygonContains(x: number, y: number, rings: readonly (readonly Pt[])[]): boolean {
  const outer = rings[0];
  if (!outer) return false;
  const o = pointInRing(x, y, outer);
  if (o < 0) return false;
  if (o === 0) return true;
  for (let h = 1; h < rings.length; h++) {
    const r = pointInRing(x, y, rings[h]!);
    if (r > 0) return false;
  }
  return true;
}
