import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../core/logger.js';

type Ring = number[][];
const rect = (x0: number, y0: number, x1: number, y1: number): Ring => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
  [x0, y0],
];
const hole = (x0: number, y0: number, x1: number, y1: number): Ring => [
  [x0, y0],
  [x0, y1],
  [x1, y1],
  [x1, y0],
  [x0, y0],
];

const feature = (
  code: string,
  name: string,
  level: string,
  parent: string | null,
  coordinates: Ring[] | Ring[][],
  kind = 'basic',
) => ({
  type: 'Feature',
  properties: { code, name, level, parent, kind },
  geometry: Array.isArray(coordinates[0]?.[0]?.[0])
    ? { type: 'MultiPolygon', coordinates }
    : { type: 'Polygon', coordinates },
});

/**
 * A small hand-made city: two counties side by side; the west one has a grid with a school
 * grid in its hole, the east one a checkerboard with a MultiPolygon grid and an unassigned
 * hole (a lake) that only the community covers.
 */
export function smallCity(): { type: 'FeatureCollection'; features: ReturnType<typeof feature>[] } {
  return {
    type: 'FeatureCollection',
    features: [
      feature('4412', '肇庆市', 'city', null, [rect(112.0, 23.0, 112.4, 23.2)]),
      feature('441202', '端州区', 'county', '4412', [rect(112.0, 23.0, 112.2, 23.2)]),
      feature('441203', '鼎湖区', 'county', '4412', [rect(112.2, 23.0, 112.4, 23.2)]),
      feature('441202001', '城东街道', 'township', '441202', [rect(112.0, 23.0, 112.2, 23.2)]),
      feature('441202001001', '东风社区', 'community', '441202001', [rect(112.0, 23.0, 112.2, 23.2)]),
      feature('441202001001001', '东风社区第一网格', 'grid', '441202001001', [
        rect(112.0, 23.0, 112.1, 23.2),
        hole(112.04, 23.08, 112.06, 23.12),
      ]),
      feature('441202001001002', '东风社区第二网格', 'grid', '441202001001', [
        rect(112.1, 23.0, 112.2, 23.2),
      ]),
      feature(
        '441202001001003',
        '东风小学专属网格',
        'grid',
        '441202001001',
        [rect(112.04, 23.08, 112.06, 23.12)],
        'school',
      ),
      feature('441203001', '坑口街道', 'township', '441203', [rect(112.2, 23.0, 112.4, 23.2)]),
      feature('441203001001', '鼎湖社区', 'community', '441203001', [rect(112.2, 23.0, 112.4, 23.2)]),
      feature('441203001001001', '鼎湖社区第一网格', 'grid', '441203001001', [
        [rect(112.2, 23.0, 112.3, 23.1)],
        [rect(112.3, 23.1, 112.4, 23.2)],
      ]),
      feature('441203001001002', '鼎湖社区第二网格', 'grid', '441203001001', [
        rect(112.3, 23.0, 112.4, 23.1),
        hole(112.34, 23.04, 112.36, 23.06),
      ]),
      feature('441203001001003', '鼎湖社区第三网格', 'grid', '441203001001', [
        rect(112.2, 23.1, 112.3, 23.2),
      ]),
    ],
  };
}

/** A temp folder with gateway.yaml, the small city grid file and a cameras folder. */
export async function makeConfigDir(
  opts: { gateway?: string; grid?: unknown; cameras?: Record<string, string | Buffer> } = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'gw-config-'));
  await mkdir(join(dir, 'cameras'));
  await mkdir(join(dir, 'grids'));
  await writeFile(
    join(dir, 'gateway.yaml'),
    opts.gateway ?? 'cameras:\n  dirs: [./cameras]\ngrids:\n  file: ./grids/city.geojson\n',
  );
  await writeFile(
    join(dir, 'grids', 'city.geojson'),
    typeof opts.grid === 'string' ? opts.grid : JSON.stringify(opts.grid ?? smallCity(), null, 1),
  );
  for (const [name, body] of Object.entries(opts.cameras ?? {}))
    await writeFile(join(dir, 'cameras', name), body);
  return {
    dir,
    gatewayFile: join(dir, 'gateway.yaml'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A logger whose output the test can read (to prove secrets never reach it). */
export function captureLogger(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    logger: createLogger({ level: 'debug', pretty: false, destination }),
    text: () => chunks.join(''),
  };
}

/** A valid camera entry as YAML lines (indented for a `cameras:` list). */
export function cameraYaml(id: string, extra = '', lon = 112.15, lat = 23.1): string {
  return `  - id: ${id}
    name: 测试摄像机${id}
    source: { kind: rtsp, url: "rtsp://127.0.0.1:8554/${id}" }
    location: { lon: ${lon}, lat: ${lat} }
${extra}`;
}
