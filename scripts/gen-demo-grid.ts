/**
 * Generates a demo grid file for 肇庆市 (Zhaoqing, Guangdong): the city, its 8 real
 * county-level divisions with their real statistical codes, and below them synthetic
 * townships (9-digit), communities/villages (12-digit) and 8,840 grids (15-digit).
 *
 *   npx tsx scripts/gen-demo-grid.ts --out config/grids/demo-city.geojson [--seed 1]
 *
 * Real: the city code 4412, the county codes (GB/T 2260 / 民政部 行政区划代码):
 * 441202 端州区, 441203 鼎湖区, 441204 高要区, 441223 广宁县, 441224 怀集县, 441225 封开县,
 * 441226 德庆县, 441284 四会市, and the city's bounding box (about 111.35–112.95°E,
 * 22.78–24.40°N). Synthetic: the shapes (schematic rectangles laid out roughly where each
 * county lies), and every name and code below county level. Township and community codes
 * follow the 统计用区划代码 numbering convention (街道 001–099, 镇 100–199; 居委会 001–199,
 * 村委会 200–399) but are not the real ones.
 *
 * Every child tiles its parent exactly: cuts are shared coordinate values, so neighbours
 * share edges bit for bit and points on them resolve deterministically.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../core/util/seeded-random.js';

export const DEMO_CITY = {
  code: '4412',
  name: '肇庆市',
  bbox: [111.35, 22.78, 112.95, 24.4] as const,
};

type Rect = { x0: number; y0: number; x1: number; y1: number };

/** County layout in fractions of the city bbox (x west→east, y south→north), with grid counts. */
const COUNTIES: { code: string; name: string; r: Rect; townships: number; grids: number; urban: number }[] = [
  {
    code: '441224',
    name: '怀集县',
    r: { x0: 0, y0: 0.6, x1: 0.55, y1: 1 },
    townships: 20,
    grids: 1400,
    urban: 2,
  },
  {
    code: '441223',
    name: '广宁县',
    r: { x0: 0.55, y0: 0.6, x1: 1, y1: 1 },
    townships: 17,
    grids: 1000,
    urban: 2,
  },
  {
    code: '441225',
    name: '封开县',
    r: { x0: 0, y0: 0, x1: 0.3, y1: 0.6 },
    townships: 16,
    grids: 800,
    urban: 2,
  },
  {
    code: '441226',
    name: '德庆县',
    r: { x0: 0.3, y0: 0.3, x1: 0.62, y1: 0.6 },
    townships: 13,
    grids: 940,
    urban: 2,
  },
  {
    code: '441284',
    name: '四会市',
    r: { x0: 0.62, y0: 0.3, x1: 1, y1: 0.6 },
    townships: 14,
    grids: 1100,
    urban: 4,
  },
  {
    code: '441204',
    name: '高要区',
    r: { x0: 0.3, y0: 0, x1: 0.68, y1: 0.3 },
    townships: 17,
    grids: 1500,
    urban: 3,
  },
  {
    code: '441202',
    name: '端州区',
    r: { x0: 0.68, y0: 0, x1: 0.78, y1: 0.3 },
    townships: 6,
    grids: 1500,
    urban: 6,
  },
  {
    code: '441203',
    name: '鼎湖区',
    r: { x0: 0.78, y0: 0, x1: 1, y1: 0.3 },
    townships: 9,
    grids: 600,
    urban: 3,
  },
];
export const DEMO_GRID_COUNT = COUNTIES.reduce((s, c) => s + c.grids, 0);

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

/** Splits `total` into `n` positive integers proportional to random weights (sum exact). */
function splitCount(total: number, n: number, rnd: () => number, min = 1): number[] {
  const w = Array.from({ length: n }, () => 0.5 + rnd());
  const sw = w.reduce((a, b) => a + b, 0);
  const spare = total - min * n;
  const raw = w.map((x) => (x / sw) * spare);
  const out = raw.map((x) => min + Math.floor(x));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = raw.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0; k++, left--) out[order[k % n]![1]]! += 1;
  return out;
}

/**
 * Guillotine split of a rectangle into pieces with areas proportional to `weights`, cutting
 * across the longer side (in metres: a degree of longitude is cos(lat) of one of latitude).
 */
function splitRect(r: Rect, weights: number[]): Rect[] {
  if (weights.length === 1) return [r];
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  let k = 1;
  for (; k < weights.length - 1; k++) {
    if (acc + weights[k - 1]! >= total / 2) break;
    acc += weights[k - 1]!;
  }
  acc = weights.slice(0, k).reduce((a, b) => a + b, 0);
  const f = acc / total;
  const wide = (r.x1 - r.x0) * Math.cos(((r.y0 + r.y1) / 2) * (Math.PI / 180)) > r.y1 - r.y0;
  if (wide) {
    const cut = round6(r.x0 + (r.x1 - r.x0) * f);
    return [
      ...splitRect({ ...r, x1: cut }, weights.slice(0, k)),
      ...splitRect({ ...r, x0: cut }, weights.slice(k)),
    ];
  }
  const cut = round6(r.y0 + (r.y1 - r.y0) * f);
  return [
    ...splitRect({ ...r, y1: cut }, weights.slice(0, k)),
    ...splitRect({ ...r, y0: cut }, weights.slice(k)),
  ];
}

const ring = (r: Rect): number[][] => [
  [r.x0, r.y0],
  [r.x1, r.y0],
  [r.x1, r.y1],
  [r.x0, r.y1],
  [r.x0, r.y0],
];
/** Holes run clockwise (RFC 7946 wants outer rings counter-clockwise, holes clockwise). */
const holeRing = (r: Rect): number[][] => [
  [r.x0, r.y0],
  [r.x0, r.y1],
  [r.x1, r.y1],
  [r.x1, r.y0],
  [r.x0, r.y0],
];
const inset = (r: Rect, f: number): Rect => {
  const dx = (r.x1 - r.x0) * f;
  const dy = (r.y1 - r.y0) * f;
  return { x0: round6(r.x0 + dx), y0: round6(r.y0 + dy), x1: round6(r.x1 - dx), y1: round6(r.y1 - dy) };
};

const SYL = '东西南北新白石金龙凤水沙岗塘江山桥坑湖岭莲桂华榕蕉禾田丰安宁和平古城'.split('');

function uniqueNames(n: number, rnd: () => number, suffixes: (i: number) => string): string[] {
  const used = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let name = '';
    for (let tries = 0; tries < 50 && (name === '' || used.has(name)); tries++) {
      name = SYL[Math.floor(rnd() * SYL.length)]! + SYL[Math.floor(rnd() * SYL.length)]! + suffixes(i);
    }
    if (used.has(name)) name = `第${i + 1}${suffixes(i)}`;
    used.add(name);
    out.push(name);
  }
  return out;
}

export interface DemoFeature {
  type: 'Feature';
  properties: { code: string; name: string; level: string; parent: string | null; kind: string };
  geometry:
    { type: 'Polygon'; coordinates: number[][][] } | { type: 'MultiPolygon'; coordinates: number[][][][] };
}

export interface DemoCity {
  type: 'FeatureCollection';
  name: string;
  features: DemoFeature[];
}

export function generateDemoCity(seed = 1): DemoCity {
  const rnd = mulberry32(seed);
  const [bx0, by0, bx1, by1] = DEMO_CITY.bbox;
  const abs = (r: Rect): Rect => ({
    x0: round6(bx0 + (bx1 - bx0) * r.x0),
    y0: round6(by0 + (by1 - by0) * r.y0),
    x1: round6(bx0 + (bx1 - bx0) * r.x1),
    y1: round6(by0 + (by1 - by0) * r.y1),
  });
  const features: DemoFeature[] = [];
  const poly = (r: Rect, holes: Rect[] = []): DemoFeature['geometry'] => ({
    type: 'Polygon',
    coordinates: [ring(r), ...holes.map(holeRing)],
  });
  const cityRect = abs({ x0: 0, y0: 0, x1: 1, y1: 1 });
  features.push({
    type: 'Feature',
    properties: { code: DEMO_CITY.code, name: DEMO_CITY.name, level: 'city', parent: null, kind: 'basic' },
    geometry: poly(cityRect),
  });
  let dedicatedBudget = 0;
  for (const c of COUNTIES) {
    const cr = abs(c.r);
    features.push({
      type: 'Feature',
      properties: { code: c.code, name: c.name, level: 'county', parent: DEMO_CITY.code, kind: 'basic' },
      geometry: poly(cr),
    });
    const tGrids = splitCount(c.grids, c.townships, rnd, 12);
    const tRects = splitRect(cr, tGrids);
    const tNames = uniqueNames(c.townships, rnd, (i) => (i < c.urban ? '街道' : '镇'));
    for (let t = 0; t < c.townships; t++) {
      const street = t < c.urban;
      const tCode = `${c.code}${String(street ? t + 1 : 100 + t - c.urban + 1).padStart(3, '0')}`;
      features.push({
        type: 'Feature',
        properties: { code: tCode, name: tNames[t]!, level: 'township', parent: c.code, kind: 'basic' },
        geometry: poly(tRects[t]!),
      });
      const nComm = Math.max(3, Math.round(tGrids[t]! / (street ? 7 : 9)));
      const cGrids = splitCount(tGrids[t]!, nComm, rnd, 3);
      const cRects = splitRect(tRects[t]!, cGrids);
      // Towns have one or two 社区 at the seat, the rest are villages (村).
      const nShequ = street ? nComm : Math.min(nComm, 1 + Math.floor(rnd() * 2));
      const cNames = uniqueNames(nComm, rnd, (i) => (i < nShequ ? '社区' : '村'));
      for (let k = 0; k < nComm; k++) {
        const isShequ = k < nShequ;
        const cCode = `${tCode}${String(isShequ ? k + 1 : 200 + k - nShequ + 1).padStart(3, '0')}`;
        features.push({
          type: 'Feature',
          properties: { code: cCode, name: cNames[k]!, level: 'community', parent: tCode, kind: 'basic' },
          geometry: poly(cRects[k]!),
        });
        const n = cGrids[k]!;
        // About one community in 25 (towns and streets alike) gets a dedicated grid: a school
        // or hospital cut out of a basic grid (a hole), or a market on two plots (MultiPolygon).
        dedicatedBudget += 1;
        const special =
          isShequ && n >= 4 && dedicatedBudget >= 25
            ? rnd() < 0.25
              ? 'market'
              : rnd() < 0.5
                ? 'school'
                : 'hospital'
            : null;
        if (special) dedicatedBudget = 0;
        const basicCount = special ? n - 1 : n;
        const gRects = splitRect(
          cRects[k]!,
          Array.from({ length: basicCount }, () => 0.7 + rnd() * 0.6),
        );
        const holes = new Map<number, Rect>();
        if (special === 'market') {
          holes.set(0, inset(gRects[0]!, 0.35));
          holes.set(basicCount - 1, inset(gRects[basicCount - 1]!, 0.35));
        } else if (special) {
          holes.set(Math.floor(basicCount / 2), inset(gRects[Math.floor(basicCount / 2)]!, 0.3));
        }
        for (let g = 0; g < basicCount; g++) {
          const hole = holes.get(g);
          features.push({
            type: 'Feature',
            properties: {
              code: `${cCode}${String(g + 1).padStart(3, '0')}`,
              name: `${cNames[k]}第${g + 1}网格`,
              level: 'grid',
              parent: cCode,
              kind: 'basic',
            },
            geometry: poly(gRects[g]!, hole ? [hole] : []),
          });
        }
        if (special) {
          const plots = [...holes.values()];
          const label = special === 'market' ? '农贸市场' : special === 'school' ? '学校' : '医院';
          features.push({
            type: 'Feature',
            properties: {
              code: `${cCode}${String(basicCount + 1).padStart(3, '0')}`,
              name: `${cNames[k]}${label}专属网格`,
              level: 'grid',
              parent: cCode,
              kind: special,
            },
            geometry:
              plots.length === 1
                ? { type: 'Polygon', coordinates: [ring(plots[0]!)] }
                : { type: 'MultiPolygon', coordinates: plots.map((p) => [ring(p)]) },
          });
        }
      }
    }
  }
  return { type: 'FeatureCollection', name: `${DEMO_CITY.name} demo grids (seed ${seed})`, features };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'config/grids/demo-city.geojson' },
      seed: { type: 'string', default: '1' },
    },
  });
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) {
    process.stderr.write(`--seed must be an integer, got ${values.seed}\n`);
    process.exit(2);
  }
  const city = generateDemoCity(seed);
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  // One feature per line: diffable, and error line numbers point at one grid.
  const body = city.features.map((f) => JSON.stringify(f)).join(',\n');
  writeFileSync(
    out,
    `{"type":"FeatureCollection","name":${JSON.stringify(city.name)},"features":[\n${body}\n]}\n`,
  );
  const grids = city.features.filter((f) => f.properties.level === 'grid').length;
  process.stdout.write(`wrote ${out}: ${city.features.length} features, ${grids} grids\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
