import Flatbush from 'flatbush';
import { z } from 'zod';
import { CODE_LENGTH, GRID_LEVELS, type GridLevel } from '../contracts/common-schema.js';
import { GridFeatureSchema } from '../contracts/grid-schema.js';
import { createJsonLocator, jsonSyntaxPosition } from '../config/json-locate.js';
import { LIMITS, readConfigText } from '../config/read-config-text.js';
import { formatPath, issuePusher, zodToInputIssues, type Locate } from '../config/zod-issues.js';
import type { GridIndex, GridInfo } from '../contracts/grid-index.js';
import { ConfigError, type InputIssue } from '../errors.js';
import { findSelfIntersection, pointInRing, ringArea, polygonContains, type Pt } from '../geo/geometry.js';

/** A validated feature: properties plus polygons (each: outer ring then holes, rings closed). */
export interface GridFeatureInput {
  info: GridInfo;
  polygons: Pt[][][];
}

const LEVEL_RANK: Record<GridLevel, number> = { city: 0, county: 1, township: 2, community: 3, grid: 4 };

interface Entry {
  info: GridInfo;
  rank: number;
  polygons: Pt[][][];
}

/**
 * Builds the index. Lookup rule (documented in docs/configuration.md): a point on an edge or
 * vertex counts as inside every polygon touching it; among the polygons containing the point
 * the deepest level wins, and between equals the lowest code wins. Outside all → null.
 */
export function buildGridIndex(features: readonly GridFeatureInput[]): GridIndex {
  const byCode = new Map<string, Entry>();
  const kids = new Map<string, GridInfo[]>();
  const shaped: Entry[] = [];
  for (const f of features) {
    const e: Entry = {
      info: Object.freeze({ ...f.info }),
      rank: LEVEL_RANK[f.info.level],
      polygons: f.polygons,
    };
    byCode.set(e.info.code, e);
    if (f.polygons.length) shaped.push(e);
  }
  for (const e of byCode.values()) {
    if (e.info.parent === null) continue;
    const list = kids.get(e.info.parent) ?? [];
    list.push(e.info);
    kids.set(e.info.parent, list);
  }
  for (const list of kids.values()) list.sort((a, b) => (a.code < b.code ? -1 : 1));
  // Candidates are tried deepest level first, then lowest code, so the first hit is the answer.
  shaped.sort((a, b) => b.rank - a.rank || (a.info.code < b.info.code ? -1 : 1));
  const tree = new Flatbush(Math.max(1, shaped.length));
  for (const e of shaped) {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const poly of e.polygons) {
      for (const [x, y] of poly[0]!) {
        if (x < minX) minX = x;
        if (y < minY) minY = y;
        if (x > maxX) maxX = x;
        if (y > maxY) maxY = y;
      }
    }
    tree.add(minX, minY, maxX, maxY);
  }
  if (shaped.length === 0) tree.add(0, 0, 0, 0);
  tree.finish();

  const roots = [...byCode.values()].filter((e) => e.info.parent === null).map((e) => e.info);
  const path = (code: string): GridInfo[] => {
    const out: GridInfo[] = [];
    let cur = byCode.get(code);
    const seen = new Set<string>();
    while (cur && !seen.has(cur.info.code)) {
      seen.add(cur.info.code);
      out.push(cur.info);
      cur = cur.info.parent === null ? undefined : byCode.get(cur.info.parent);
    }
    return out.reverse();
  };

  return {
    size: shaped.length,
    lookup(lon, lat) {
      if (!Number.isFinite(lon) || !Number.isFinite(lat) || shaped.length === 0) return null;
      const hits = tree.search(lon, lat, lon, lat);
      if (hits.length === 0) return null;
      // Insertion order equals the sorted order, so the smallest index is the preferred one.
      hits.sort((a, b) => a - b);
      for (const h of hits) {
        const e = shaped[h]!;
        if (e.polygons.some((rings) => polygonContains(lon, lat, rings))) return e.info;
      }
      return null;
    },
    get: (code) => byCode.get(code)?.info,
    shape(code) {
      const e = byCode.get(code);
      return e && e.polygons.length ? e.polygons : undefined;
    },
    path,
    children: (code) => [...(kids.get(code) ?? [])],
    roots: () => [...roots],
    search(query, limit = 20) {
      const q = query.trim().toLowerCase();
      if (!q) return [];
      const out: Entry[] = [];
      for (const e of byCode.values()) {
        if (e.info.code.startsWith(q) || e.info.name.toLowerCase().includes(q)) out.push(e);
      }
      out.sort((a, b) => a.rank - b.rank || (a.info.code < b.info.code ? -1 : 1));
      return out.slice(0, limit).map((e) => e.info);
    },
  };
}

const TopSchema = z
  .strictObject({
    type: z.literal('FeatureCollection'),
    name: z.string().optional(),
    crs: z.unknown().optional(),
    features: z.array(z.unknown()),
  })
  .describe('Top level of a grid file');

function samePt(a: readonly number[], b: readonly number[]): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

/**
 * Validates parsed grid GeoJSON. Bad features are left out and reported (file, line, column,
 * path); features whose parent is missing or was left out go too. Throws ConfigError only
 * when the file as a whole is unusable.
 */
export function validateGridData(
  source: string,
  data: unknown,
  locate: Locate,
): { features: GridFeatureInput[]; issues: InputIssue[] } {
  const top = TopSchema.safeParse(data, { reportInput: true });
  if (!top.success)
    throw new ConfigError(
      `grid file ${source} is not a grid FeatureCollection`,
      zodToInputIssues(source, top.error, locate),
    );
  const issues: InputIssue[] = [];
  const candidates: { f: GridFeatureInput; i: number }[] = [];
  const seen = new Map<string, number>();
  top.data.features.forEach((raw, i) => {
    const prefix = ['features', i];
    const r = GridFeatureSchema.safeParse(raw, { reportInput: true });
    if (!r.success) {
      issues.push(...zodToInputIssues(source, r.error, locate, prefix));
      return;
    }
    const p = r.data.properties;
    const bad = issuePusher(source, locate, prefix, issues);
    const before = issues.length;
    if (p.code.length !== CODE_LENGTH[p.level]) {
      bad(
        ['properties', 'code'],
        `${CODE_LENGTH[p.level]} digits for level ${p.level}`,
        `${p.code.length} digits`,
        'code length does not match level',
      );
    }
    if (p.level === 'city' ? p.parent !== null : p.parent === null) {
      bad(
        ['properties', 'parent'],
        p.level === 'city' ? 'null' : 'a parent code',
        String(p.parent),
        p.level === 'city' ? 'the city has no parent' : 'parent is required below the city',
      );
    } else if (p.parent !== null && !p.code.startsWith(p.parent)) {
      bad(
        ['properties', 'parent'],
        `a prefix of ${p.code}`,
        p.parent,
        'code does not start with its parent code',
      );
    }
    const dup = seen.get(p.code);
    if (dup !== undefined) {
      bad(
        ['properties', 'code'],
        'a unique code',
        `${p.code} again (first at features[${dup}])`,
        'duplicate code',
      );
    }
    const polys: Pt[][][] = [];
    const g = r.data.geometry;
    const raws = g === null ? [] : g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    raws.forEach((rings, pi) => {
      const gpath =
        g?.type === 'MultiPolygon' ? ['geometry', 'coordinates', pi] : ['geometry', 'coordinates'];
      rings.forEach((ring, ri) => {
        const first = ring[0]!;
        const last = ring[ring.length - 1]!;
        if (!samePt(first, last)) {
          bad(
            [...gpath, ri],
            'a closed ring (last position equal to the first)',
            `[${last.join(', ')}] ≠ [${first.join(', ')}]`,
            'ring is not closed',
          );
          return;
        }
        const open = ring.slice(0, -1) as Pt[];
        const x = findSelfIntersection(open);
        if (x) {
          bad(
            [...gpath, ri],
            'a simple ring',
            `edges ${x[0]} and ${x[1]} cross or touch`,
            'ring intersects itself',
          );
        } else if (ringArea(open) === 0) {
          bad([...gpath, ri], 'a ring with area', 'zero area', 'degenerate ring');
        } else if (ri > 0 && !open.every((p) => pointInRing(p[0], p[1], rings[0] as Pt[]) >= 0)) {
          bad(
            [...gpath, ri],
            'a hole inside its outer ring',
            'a vertex outside the outer ring',
            'hole is outside its polygon',
          );
        }
      });
      polys.push(rings as Pt[][]);
    });
    if (issues.length !== before) return;
    seen.set(p.code, i);
    candidates.push({
      f: {
        info: { code: p.code, name: p.name, level: p.level, parent: p.parent, kind: p.kind },
        polygons: polys,
      },
      i,
    });
  });
  // Parents must exist; drop orphans level by level so a rejected county drops its townships.
  const ok = new Map(candidates.map((c) => [c.f.info.code, c]));
  for (const level of GRID_LEVELS) {
    for (const c of candidates) {
      if (c.f.info.level !== level || !ok.has(c.f.info.code)) continue;
      const parent = c.f.info.parent;
      if (parent === null) continue;
      const pe = ok.get(parent);
      const path = ['features', c.i, 'properties', 'parent'];
      if (!pe) {
        issues.push({
          source,
          ...locate(path),
          path: formatPath(path),
          expected: 'the code of a division in this file',
          found: parent,
          message: `parent ${parent} does not exist or was rejected`,
        });
        ok.delete(c.f.info.code);
      } else if (LEVEL_RANK[pe.f.info.level] >= LEVEL_RANK[c.f.info.level]) {
        issues.push({
          source,
          ...locate(path),
          path: formatPath(path),
          expected: `a division above level ${c.f.info.level}`,
          found: `${parent} (${pe.f.info.level})`,
          message: 'parent is not above this level',
        });
        ok.delete(c.f.info.code);
      }
    }
  }
  return { features: [...ok.values()].map((c) => c.f), issues };
}

/** Reads, parses and validates a grid GeoJSON file. Throws ConfigError when it is unusable. */
export async function loadGridFile(
  file: string,
): Promise<{ index: GridIndex; issues: InputIssue[]; features: number }> {
  const { features, issues } = await readGridFeatures(file);
  return { index: buildGridIndex(features), issues, features: features.length };
}

/**
 * Reading, JSON parsing and validation, without building the index: what the config parse
 * worker runs (the index, with its spatial tree, is built where it is used).
 */
export async function readGridFeatures(
  file: string,
): Promise<{ features: GridFeatureInput[]; issues: InputIssue[] }> {
  const read = await readConfigText(file, LIMITS.geojsonBytes, 'grid file');
  if (!read.ok) throw new ConfigError(`grid file ${file} cannot be used`, [read.issue]);
  let data: unknown;
  try {
    data = JSON.parse(read.text);
  } catch (cause) {
    const pos = jsonSyntaxPosition(read.text, cause as Error);
    throw new ConfigError(`grid file ${file} is not valid JSON`, [
      {
        source: file,
        ...pos,
        path: '',
        expected: 'GeoJSON (JSON)',
        found: 'a syntax error',
        message: (cause as Error).message,
      },
    ]);
  }
  return validateGridData(file, data, createJsonLocator(read.text));
}
