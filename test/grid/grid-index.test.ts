import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { ConfigError } from '../../core/errors.js';
import { polygonContains, type Pt } from '../../core/geo/geometry.js';
import { loadGridFile } from '../../core/grid/grid-index.js';
import { generateDemoCity } from '../../scripts/gen-demo-grid.js';
import { makeConfigDir, smallCity } from '../config/fixtures.js';

let tmp: Awaited<ReturnType<typeof makeConfigDir>>;
let idx: GridIndex;

beforeAll(async () => {
  tmp = await makeConfigDir();
  const r = await loadGridFile(join(tmp.dir, 'grids', 'city.geojson'));
  expect(r.issues).toEqual([]);
  idx = r.index;
});
afterAll(async () => tmp.cleanup());

const code = (lon: number, lat: number) => idx.lookup(lon, lat)?.code ?? null;

describe('grid lookup', () => {
  it('finds the innermost grid inside a polygon', () => {
    expect(code(112.02, 23.05)).toBe('441202001001001');
    expect(code(112.15, 23.15)).toBe('441202001001002');
  });
  it('resolves a shared edge to the lowest code among the grids touching it', () => {
    expect(code(112.1, 23.05)).toBe('441202001001001');
    expect(code(112.1, 23.19)).toBe('441202001001001');
    // Edge between the two counties: grid 002 of 441202 vs grids of 441203.
    expect(code(112.2, 23.05)).toBe('441202001001002');
  });
  it('resolves a shared vertex the same way', () => {
    expect(code(112.1, 23.0)).toBe('441202001001001');
    expect(code(112.2, 23.1)).toBe('441202001001002');
    expect(code(112.3, 23.1)).toBe('441203001001001');
  });
  it('gives the dedicated grid inside a hole, and the hole boundary to the lowest code', () => {
    expect(code(112.05, 23.1)).toBe('441202001001003');
    expect(idx.lookup(112.05, 23.1)?.kind).toBe('school');
    expect(code(112.04, 23.1)).toBe('441202001001001');
  });
  it('falls back to the community in a hole no grid fills', () => {
    expect(code(112.35, 23.05)).toBe('441203001001');
    expect(idx.lookup(112.35, 23.05)?.level).toBe('community');
  });
  it('finds both parts of a MultiPolygon', () => {
    expect(code(112.25, 23.05)).toBe('441203001001001');
    expect(code(112.35, 23.15)).toBe('441203001001001');
    expect(code(112.25, 23.15)).toBe('441203001001003');
  });
  it('returns null outside every grid, never a guess', () => {
    expect(code(111.99, 23.1)).toBeNull();
    expect(code(112.41, 23.1)).toBeNull();
    expect(code(112.1, 22.9)).toBeNull();
    expect(code(Number.NaN, 23.1)).toBeNull();
    expect(code(112.4000001, 23.2)).toBeNull();
  });
  it('answers the hierarchy questions', () => {
    expect(idx.size).toBe(13);
    expect(idx.path('441202001001003').map((g) => g.code)).toEqual([
      '4412',
      '441202',
      '441202001',
      '441202001001',
      '441202001001003',
    ]);
    expect(idx.path('999')).toEqual([]);
    expect(idx.children('441203001001').map((g) => g.code)).toEqual([
      '441203001001001',
      '441203001001002',
      '441203001001003',
    ]);
    expect(idx.roots().map((g) => g.code)).toEqual(['4412']);
    expect(idx.get('441203')?.name).toBe('鼎湖区');
    expect(idx.search('鼎湖').map((g) => g.code)).toEqual([
      '441203',
      '441203001001',
      '441203001001001',
      '441203001001002',
      '441203001001003',
    ]);
    expect(idx.search('441202001', 2).map((g) => g.code)).toEqual(['441202001', '441202001001']);
  });
});

describe('grid file validation', () => {
  async function issuesFor(mutate: (g: ReturnType<typeof smallCity>) => void) {
    const g = smallCity();
    mutate(g);
    const file = join(tmp.dir, 'grids', 'bad.geojson');
    await writeFile(file, JSON.stringify(g, null, 1));
    return loadGridFile(file);
  }
  it('rejects a feature whose parent does not exist, and its descendants', async () => {
    const r = await issuesFor((g) => {
      g.features[3]!.properties.parent = '441299';
      g.features[3]!.properties.code = '441299001';
    });
    expect(r.issues.map((i) => [i.path, i.message])).toEqual([
      ['features[3].properties.parent', 'parent 441299 does not exist or was rejected'],
      ['features[4].properties.parent', 'parent 441202001 does not exist or was rejected'],
      ['features[5].properties.parent', 'parent 441202001001 does not exist or was rejected'],
      ['features[6].properties.parent', 'parent 441202001001 does not exist or was rejected'],
      ['features[7].properties.parent', 'parent 441202001001 does not exist or was rejected'],
    ]);
    expect(r.index.get('441202001001001')).toBeUndefined();
    expect(r.index.get('441203001001001')).toBeDefined();
  });
  it('names file, line and column of a bad ring', async () => {
    const r = await issuesFor((g) => {
      g.features[6]!.geometry.coordinates = [
        [
          [112.1, 23.0],
          [112.2, 23.2],
          [112.2, 23.0],
          [112.1, 23.2],
          [112.1, 23.0],
        ],
      ];
    });
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({
      path: 'features[6].geometry.coordinates[0]',
      message: 'ring intersects itself',
      line: 260,
      column: 6,
    });
    expect(r.issues[0]!.found).toBe('edges 0 and 2 cross or touch');
  });
  it('rejects level/code mismatch, an open ring and a duplicate code', async () => {
    const r = await issuesFor((g) => {
      g.features[2]!.properties.level = 'township';
      g.features[7]!.geometry.coordinates[0]!.pop();
      g.features[12]!.properties.code = '441203001001002';
    });
    expect(r.issues.map((i) => i.message)).toEqual([
      'code length does not match level',
      'ring is not closed',
      'duplicate code',
      // 441203 was rejected, so everything under it goes too (named one by one).
      'parent 441203 does not exist or was rejected',
      'parent 441203001 does not exist or was rejected',
      'parent 441203001001 does not exist or was rejected',
      'parent 441203001001 does not exist or was rejected',
    ]);
  });
  it('rejects a hole that pokes out of its polygon', async () => {
    const r = await issuesFor((g) => {
      g.features[5]!.geometry.coordinates[1] = [
        [112.09, 23.08],
        [112.09, 23.12],
        [112.11, 23.12],
        [112.11, 23.08],
        [112.09, 23.08],
      ];
    });
    expect(r.issues.map((i) => [i.path, i.message])).toEqual([
      ['features[5].geometry.coordinates[1]', 'hole is outside its polygon'],
    ]);
  });
  it('rejects a parent that is not above the child', async () => {
    const r = await issuesFor((g) => {
      g.features[5]!.properties.parent = '441202001001';
      g.features[6]!.properties.parent = '441202001001001';
    });
    expect(r.issues.map((i) => [i.path, i.message])).toEqual([
      ['features[6].properties.parent', 'code does not start with its parent code'],
    ]);
  });
  it('refuses a grid file over 200 MB before reading it, and a binary one', async () => {
    const big = join(tmp.dir, 'grids', 'big.geojson');
    await writeFile(big, '{');
    await truncate(big, 201 * 1024 * 1024);
    const err = await loadGridFile(big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatchObject({
      source: big,
      expected: 'at most 200 MB',
      found: '201.0 MB',
    });
    const bin = join(tmp.dir, 'grids', 'bin.geojson');
    await writeFile(bin, Buffer.from([0x7b, 0x0a, 0xff, 0xfe, 0x00]));
    const err2 = await loadGridFile(bin).catch((e: unknown) => e);
    expect((err2 as ConfigError).issues[0]).toMatchObject({
      line: 2,
      column: 3,
      message: 'grid file contains binary data, not text',
    });
  });
  it('refuses a file that is not JSON with its line and column', async () => {
    const file = join(tmp.dir, 'grids', 'broken.geojson');
    await writeFile(file, '{"type": "FeatureCollection",\n "features": [\n  {"type": "Feature",, }\n]}');
    const err = await loadGridFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatchObject({ source: file, line: 3, column: 22 });
  });
});

describe('demo city', () => {
  const city = generateDemoCity(1);
  let demo: GridIndex;
  beforeAll(async () => {
    const file = join(tmp.dir, 'grids', 'demo.geojson');
    await writeFile(file, JSON.stringify(city));
    const r = await loadGridFile(file);
    expect(r.issues).toEqual([]);
    demo = r.index;
  });
  it('has 8 real counties and 8,840 grids with codes of the right shape', () => {
    const counties = city.features
      .filter((f) => f.properties.level === 'county')
      .map((f) => f.properties.code);
    expect(counties.sort()).toEqual([
      '441202',
      '441203',
      '441204',
      '441223',
      '441224',
      '441225',
      '441226',
      '441284',
    ]);
    const grids = city.features.filter((f) => f.properties.level === 'grid');
    expect(grids).toHaveLength(8840);
    expect(
      grids.every(
        (g) => /^4412\d{11}$/.test(g.properties.code) && g.properties.code.startsWith(g.properties.parent!),
      ),
    ).toBe(true);
    expect(grids.some((g) => g.geometry.type === 'MultiPolygon')).toBe(true);
    expect(grids.some((g) => g.geometry.type === 'Polygon' && g.geometry.coordinates.length > 1)).toBe(true);
    expect(new Set(grids.map((g) => g.properties.kind))).toEqual(
      new Set(['basic', 'school', 'hospital', 'market']),
    );
  });
  it('is deterministic for a seed', () => {
    expect(JSON.stringify(generateDemoCity(1))).toBe(JSON.stringify(city));
    expect(JSON.stringify(generateDemoCity(2))).not.toBe(JSON.stringify(city));
  });
  it('tiles the city with grids: every point hits exactly one grid, and the index agrees with brute force', () => {
    const grids = city.features.filter((f) => f.properties.level === 'grid');
    const polys = grids.map((g) => ({
      code: g.properties.code,
      parts: (g.geometry.type === 'Polygon'
        ? [g.geometry.coordinates]
        : g.geometry.coordinates) as unknown as Pt[][][],
    }));
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 400; i++) {
      const lon = 111.35 + rnd() * 1.6;
      const lat = 22.78 + rnd() * 1.62;
      const containing = polys
        .filter((p) => p.parts.some((rings) => polygonContains(lon, lat, rings)))
        .map((p) => p.code);
      expect(containing.length).toBeGreaterThanOrEqual(1);
      expect(demo.lookup(lon, lat)?.code).toBe(containing.sort()[0]);
    }
    expect(demo.lookup(111.3, 23.5)).toBeNull();
  });
});
