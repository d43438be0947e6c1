import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { GridLevel } from '../../core/contracts/common-schema.js';

/** One division as the map draws it: rings as flat [lon, lat, lon, lat, …] arrays. */
export interface MapGrid {
  code: string;
  name: string;
  level: GridLevel;
  parent: string | null;
  /** County (区县) the division lies in, for labels and colouring; null above county level. */
  county: string | null;
  /** Polygons, each: outer ring then holes; every ring closed and flat. */
  rings: number[][][];
}

/** Zoom levels the server simplifies for; a request is clamped into this range. */
export const MAP_MIN_ZOOM = 5;
export const MAP_MAX_ZOOM = 17;

/**
 * Degrees of longitude one screen pixel covers at a Web-Mercator zoom level (256 px tiles):
 * the simplification tolerance, so no vertex the map drops would move a line by a pixel.
 */
export function toleranceAt(zoom: number): number {
  return 360 / (256 * 2 ** zoom);
}

/** Decimals kept per zoom: about a tenth of a pixel, so rounding never shows. */
export function decimalsAt(zoom: number): number {
  return Math.min(6, Math.max(2, Math.ceil(Math.log10(1 / (toleranceAt(zoom) / 10)))));
}

type P = readonly [number, number];

function segDist2(p: P, a: P, b: P): number {
  let x = a[0];
  let y = a[1];
  let dx = b[0] - x;
  let dy = b[1] - y;
  if (dx !== 0 || dy !== 0) {
    const t = ((p[0] - x) * dx + (p[1] - y) * dy) / (dx * dx + dy * dy);
    if (t > 1) {
      x = b[0];
      y = b[1];
    } else if (t > 0) {
      x += dx * t;
      y += dy * t;
    }
  }
  dx = p[0] - x;
  dy = p[1] - y;
  return dx * dx + dy * dy;
}

/** Douglas–Peucker on an open polyline; keeps both ends. Iterative (no recursion depth limit). */
export function simplifyLine(pts: readonly P[], tolerance: number): P[] {
  if (pts.length <= 2) return [...pts];
  const keep = new Uint8Array(pts.length);
  keep[0] = 1;
  keep[pts.length - 1] = 1;
  const stack: [number, number][] = [[0, pts.length - 1]];
  const tol2 = tolerance * tolerance;
  while (stack.length) {
    const [first, last] = stack.pop()!;
    let maxD = 0;
    let idx = -1;
    for (let i = first + 1; i < last; i++) {
      const d = segDist2(pts[i]!, pts[first]!, pts[last]!);
      if (d > maxD) {
        maxD = d;
        idx = i;
      }
    }
    if (idx >= 0 && maxD > tol2) {
      keep[idx] = 1;
      stack.push([first, idx], [idx, last]);
    }
  }
  return pts.filter((_, i) => keep[i] === 1);
}

/**
 * A closed ring simplified for the tolerance. The ring is split at its first vertex and the
 * vertex farthest from it, so both halves keep their ends; a ring that would fall under four
 * positions (a triangle, closed) is kept as it was, so no division vanishes from the map.
 */
export function simplifyRing(ring: readonly P[], tolerance: number): P[] {
  if (ring.length <= 5) return [...ring];
  const open = ring.slice(0, -1);
  let far = 0;
  let farD = -1;
  for (let i = 1; i < open.length; i++) {
    const dx = open[i]![0] - open[0]![0];
    const dy = open[i]![1] - open[0]![1];
    const d = dx * dx + dy * dy;
    if (d > farD) {
      farD = d;
      far = i;
    }
  }
  const a = simplifyLine(open.slice(0, far + 1), tolerance);
  const b = simplifyLine([...open.slice(far), open[0]!], tolerance);
  const out = [...a, ...b.slice(1)];
  return out.length >= 4 ? out : [...ring];
}

function flat(ring: readonly P[], decimals: number): number[] {
  const f = 10 ** decimals;
  const out: number[] = [];
  for (const [x, y] of ring) out.push(Math.round(x * f) / f, Math.round(y * f) / f);
  return out;
}

/**
 * Divisions of one level under a scope, simplified for a zoom. Built on first use for each
 * (index, level, zoom) and kept while the index lives: a reloaded grid file is a new index, so
 * its shapes are built afresh and the old ones go with the old index (WeakMap).
 */
export function createMapShapes(): {
  grids(index: GridIndex, scope: string, level: GridLevel, zoom: number): MapGrid[];
} {
  const cache = new WeakMap<GridIndex, Map<string, MapGrid[]>>();

  function build(index: GridIndex, scope: string, level: GridLevel, zoom: number): MapGrid[] {
    const tol = toleranceAt(zoom);
    const dec = decimalsAt(zoom);
    const out: MapGrid[] = [];
    const root = index.get(scope);
    if (!root) return out;
    const countyOf = (code: string): string | null =>
      index.path(code).find((g) => g.level === 'county')?.code ?? null;
    // Walk the tree from the scope down: only what the user may see is ever touched.
    const stack = [root];
    while (stack.length) {
      const g = stack.pop()!;
      if (g.level === level) {
        const shape = index.shape?.(g.code);
        if (shape) {
          out.push({
            code: g.code,
            name: g.name,
            level: g.level,
            parent: g.parent,
            county: countyOf(g.code),
            rings: shape.map((poly) => poly.map((ring) => flat(simplifyRing(ring, tol), dec))),
          });
        }
        continue;
      }
      stack.push(...index.children(g.code));
    }
    out.sort((a, b) => (a.code < b.code ? -1 : 1));
    return out;
  }

  return {
    grids(index, scope, level, zoom) {
      const z = Math.min(MAP_MAX_ZOOM, Math.max(MAP_MIN_ZOOM, Math.round(zoom)));
      let byKey = cache.get(index);
      if (!byKey) {
        byKey = new Map();
        cache.set(index, byKey);
      }
      const key = `${scope}|${level}|${z}`;
      let hit = byKey.get(key);
      if (!hit) {
        hit = build(index, scope, level, z);
        byKey.set(key, hit);
      }
      return hit;
    },
  };
}
