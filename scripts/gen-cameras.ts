/**
 * Places N demo cameras inside the grids of a grid file and writes camera YAML files of at
 * most 200 cameras each (valid against the camera schema).
 *
 *   npx tsx scripts/gen-cameras.ts 2000 --out config/cameras/generated \
 *     [--grids config/grids/demo-city.geojson] [--rtsp-base rtsp://127.0.0.1:8554/cam] [--seed 1]
 *
 * `--rtsp-base` may contain `{n}` (replaced by the camera number, 1-based); without it every
 * camera uses the same URL, which suits one loopback RTSP server serving one clip.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Document, isScalar, visit } from 'yaml';
import { CameraFileSchema, type CameraFile } from '../core/contracts/camera-schema.js';
import { polygonContains, type Pt } from '../core/geo/geometry.js';
import { mulberry32 } from '../core/util/seeded-random.js';

export const CAMERAS_PER_FILE = 200;
const RULES = [
  'illegal_parking',
  'street_vending',
  'crowd_gathering',
  'road_obstruction',
  'fire_smoke',
] as const;
const ZONE_NAMES: Record<(typeof RULES)[number], string> = {
  illegal_parking: '禁停区',
  street_vending: '禁止摆卖区',
  crowd_gathering: '广场',
  road_obstruction: '车行道',
  fire_smoke: '全景',
};
const STREETS =
  '人民路 解放路 建设路 中山路 东风路 天宁路 端州路 星湖大道 江滨路 信安大道 宋城路 城中路'.split(' ');

const r2 = (v: number) => Math.round(v * 100) / 100;

/** YAML with `[x, y]` points on one line, the way people write them by hand. */
export function cameraFileYaml(f: CameraFile): string {
  const doc = new Document(f);
  visit(doc, {
    Seq(_k, node) {
      if (node.items.length === 2 && node.items.every((i) => isScalar(i) && typeof i.value === 'number'))
        node.flow = true;
      if (node.items.length === 0) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

interface GridFeature {
  properties: { code: string; name: string; level: string };
  geometry: { type: 'Polygon'; coordinates: Pt[][] } | { type: 'MultiPolygon'; coordinates: Pt[][][] } | null;
}

export function generateCameraFiles(
  n: number,
  grid: { features: GridFeature[] },
  opts: { rtspBase: string; seed: number },
): CameraFile[] {
  const rnd = mulberry32(opts.seed);
  const grids = grid.features.filter((f) => f.properties.level === 'grid' && f.geometry);
  if (grids.length === 0) throw new Error('the grid file has no grid-level features to place cameras in');
  const files: CameraFile[] = [];
  for (let i = 0; i < n; i++) {
    const g = grids[Math.floor(rnd() * grids.length)]!;
    const polys = g.geometry!.type === 'Polygon' ? [g.geometry!.coordinates] : g.geometry!.coordinates;
    const outer = polys[0]![0]!;
    const xs = outer.map((p) => p[0]);
    const ys = outer.map((p) => p[1]);
    let lon = 0;
    let lat = 0;
    for (let tries = 0; tries < 1000; tries++) {
      lon = Math.min(...xs) + rnd() * (Math.max(...xs) - Math.min(...xs));
      lat = Math.min(...ys) + rnd() * (Math.max(...ys) - Math.min(...ys));
      if (polys.some((rings) => polygonContains(lon, lat, rings))) break;
    }
    const num = i + 1;
    const rule = RULES[Math.floor(rnd() * RULES.length)]!;
    const x0 = Math.round((0.05 + rnd() * 0.3) * 100) / 100;
    const y0 = Math.round((0.4 + rnd() * 0.2) * 100) / 100;
    const street = STREETS[Math.floor(rnd() * STREETS.length)]!;
    const cam = {
      id: `cam-${String(num).padStart(5, '0')}`,
      name: `${g.properties.name.replace(/第\d+网格$/, '')}${street}${num}号`,
      source: {
        kind: 'rtsp' as const,
        url: opts.rtspBase.replaceAll('{n}', String(num)),
        transport: 'tcp' as const,
      },
      location: { lon: Math.round(lon * 1e6) / 1e6, lat: Math.round(lat * 1e6) / 1e6, crs: 'WGS84' as const },
      gridCode: g.properties.code,
      samplingIntervalSec: 5,
      detectors: [{ rule, options: {} }],
      zones: [
        {
          id: 'z1',
          name: `${street}${ZONE_NAMES[rule]}`,
          polygon: [
            [x0, y0],
            [r2(x0 + 0.5), y0],
            [r2(x0 + 0.55), 0.95],
            [r2(Math.max(0, x0 - 0.05)), 0.95],
          ] as [number, number][],
          rules: [rule],
        },
      ],
      tags: [] as string[],
    };
    const fi = Math.floor(i / CAMERAS_PER_FILE);
    files[fi] ??= { site: `generated batch ${fi + 1}`, cameras: [] };
    files[fi].cameras.push(cam as CameraFile['cameras'][number]);
  }
  return files;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string', default: 'config/cameras/generated' },
      grids: { type: 'string', default: 'config/grids/demo-city.geojson' },
      'rtsp-base': { type: 'string', default: 'rtsp://127.0.0.1:8554/cam' },
      seed: { type: 'string', default: '1' },
    },
  });
  const n = Number(positionals[0]);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write('usage: gen-cameras N --out DIR [--grids FILE] [--rtsp-base URL] [--seed S]\n');
    process.exit(2);
  }
  const grid = JSON.parse(readFileSync(resolve(values.grids), 'utf8')) as { features: GridFeature[] };
  const files = generateCameraFiles(n, grid, { rtspBase: values['rtsp-base'], seed: Number(values.seed) });
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  // Stale batches from a previous, larger run would duplicate ids.
  for (const f of readdirSync(out)) if (/^cameras-\d{3}\.yaml$/.test(f)) rmSync(join(out, f));
  files.forEach((f, i) => {
    CameraFileSchema.parse(f);
    writeFileSync(join(out, `cameras-${String(i + 1).padStart(3, '0')}.yaml`), cameraFileYaml(f));
  });
  process.stdout.write(`wrote ${n} cameras in ${files.length} file(s) to ${out}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
