import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor, AlertNotifier, Suppression } from '../../core/contracts/alert-service.js';
import type { Finding } from '../../core/contracts/finding.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import type { Logger } from '../../core/logger.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import type { CreateDispatcherOptions } from '../../features/dispatcher/dispatcher.js';
import { DispatcherConfigSchema } from '../../features/dispatcher/dispatcher-config.js';
import { verifySignature, SIG_HEADERS, signatureHeader } from '../../features/dispatcher/signing.js';

/** Rectangle [lon0, lat0, lon1, lat1] as a closed GeoJSON ring. */
const rect = (x0: number, y0: number, x1: number, y1: number) => [
  [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
    [x0, y0],
  ],
];

/**
 * A small real grid file: city → county → township → community → two grids side by side,
 * plus a second community. Loaded with the project's loadGridFile (gateway/grid).
 */
export const GRID = {
  city: '4403',
  county: '440305',
  township: '440305001',
  community: '440305001001',
  gridA: '440305001001001',
  gridB: '440305001001002',
  community2: '440305001002',
  gridC: '440305001002001',
};

export function gridGeoJson(): unknown {
  const f = (code: string, name: string, level: string, parent: string | null, geometry: unknown) => ({
    type: 'Feature',
    properties: { code, name, level, parent },
    geometry,
  });
  return {
    type: 'FeatureCollection',
    features: [
      f(GRID.city, '深圳市', 'city', null, { type: 'Polygon', coordinates: rect(113.8, 22.4, 114.2, 22.7) }),
      f(GRID.county, '南山区', 'county', GRID.city, {
        type: 'Polygon',
        coordinates: rect(113.85, 22.45, 114.0, 22.6),
      }),
      f(GRID.township, '南头街道', 'township', GRID.county, {
        type: 'Polygon',
        coordinates: rect(113.9, 22.5, 113.96, 22.56),
      }),
      f(GRID.community, '大新社区', 'community', GRID.township, {
        type: 'Polygon',
        coordinates: rect(113.9, 22.5, 113.93, 22.56),
      }),
      f(GRID.gridA, '大新社区第一网格', 'grid', GRID.community, {
        type: 'Polygon',
        coordinates: rect(113.9, 22.5, 113.915, 22.56),
      }),
      f(GRID.gridB, '大新社区第二网格', 'grid', GRID.community, {
        type: 'Polygon',
        coordinates: rect(113.915, 22.5, 113.93, 22.56),
      }),
      f(GRID.community2, '南头城社区', 'community', GRID.township, {
        type: 'Polygon',
        coordinates: rect(113.93, 22.5, 113.96, 22.56),
      }),
      f(GRID.gridC, '南头城社区第一网格', 'grid', GRID.community2, {
        type: 'Polygon',
        coordinates: rect(113.93, 22.5, 113.96, 22.56),
      }),
    ],
  };
}

/** Camera entries as the config store would produce them. */
export function cameras(): LoadedCamera[] {
  const base = {
    enabled: true,
    source: { kind: 'rtsp' as const, url: 'rtsp://127.0.0.1:8554/cam', transport: 'tcp' as const },
    samplingIntervalSec: 5,
    detectors: [],
    schedules: {},
    tags: [],
    file: '/cfg/cameras/test.yaml',
    baseDir: '/cfg/cameras',
  };
  return [
    {
      ...base,
      id: 'cam-a',
      line: 3,
      name: '南新路与大新路交叉口东',
      deviceId: '44030500001320000001',
      location: { lon: 113.905, lat: 22.53, crs: 'WGS84' },
      wgs84: { lon: 113.905, lat: 22.53 },
      gridCode: GRID.gridA,
      zones: [
        {
          id: 'z-noparking',
          name: '南新路禁停区',
          polygon: [
            [0, 0],
            [1, 0],
            [1, 1],
          ],
          rules: ['illegal_parking'],
          gridCode: GRID.gridB,
        },
        {
          id: 'z-plain',
          name: '人行道',
          polygon: [
            [0, 0],
            [1, 0],
            [1, 1],
          ],
          rules: ['street_vending'],
        },
      ],
    },
    {
      ...base,
      id: 'cam-loc',
      line: 20,
      name: '南头城牌坊',
      location: { lon: 113.94, lat: 22.54, crs: 'WGS84' },
      wgs84: { lon: 113.94, lat: 22.54 },
      zones: [],
    },
    {
      ...base,
      id: 'cam-out',
      line: 40,
      name: '城外试验点',
      location: { lon: 116.4, lat: 39.9, crs: 'WGS84' },
      wgs84: { lon: 116.4, lat: 39.9 },
      zones: [],
    },
  ];
}

let n = 0;
export function finding(over: Partial<Finding> = {}): Finding {
  n++;
  const t = Date.now();
  return {
    id: `det:cam-a:illegal_parking:${t}:${n}`,
    cameraId: 'cam-a',
    type: 'illegal_parking',
    zoneId: 'z-noparking',
    score: 0.8,
    trackIds: ['t1'],
    boxes: [{ x1: 0.1, y1: 0.2, x2: 0.3, y2: 0.4, label: 'car', score: 0.8, trackId: 't1' }],
    firstSeen: t - 60_000,
    lastSeen: t,
    evidence: { first: '2026-11-27/cam-a_1.jpg', latest: '2026-11-27/cam-a_2.jpg' },
    detector: { plugin: 'illegal-parking', version: '1.0.0' },
    ...over,
  };
}

export const actors = {
  zhang: {
    username: 'zhangsan',
    displayName: '张三',
    role: 'operator',
    scope: GRID.community,
  } satisfies Actor,
  li: { username: 'lisi', displayName: '李四', role: 'operator', scope: GRID.community } satisfies Actor,
  admin: { username: 'admin', displayName: '管理员', role: 'admin', scope: GRID.city } satisfies Actor,
  outsider: {
    username: 'wangwu',
    displayName: '王五',
    role: 'operator',
    scope: GRID.community2,
  } satisfies Actor,
  viewer: { username: 'viewer', displayName: '访客', role: 'viewer', scope: GRID.city } satisfies Actor,
};

export function recordingNotifier(): AlertNotifier & {
  events: { alert: Alert; kind: 'new' | 'update' }[];
  suppressions: { s: Suppression; kind: string }[];
} {
  const events: { alert: Alert; kind: 'new' | 'update' }[] = [];
  const suppressions: { s: Suppression; kind: string }[] = [];
  return {
    events,
    suppressions,
    alertChanged(alert, kind) {
      events.push({ alert, kind });
    },
    suppressionChanged(s, kind) {
      suppressions.push({ s, kind });
    },
  };
}

export interface Delivery {
  key: string;
  body: Record<string, unknown>;
  at: number;
}

/**
 * Stands in for the city's grid platform: a real HTTP server that checks the HMAC signature,
 * dedups by Idempotency-Key (as docs/integration.md asks platforms to) and answers a case id.
 */
export async function startReceiver(
  secret: string,
  port: number,
): Promise<{
  url: string;
  raw: Delivery[];
  accepted: Delivery[];
  badSignatures: number;
  failNext: number;
  up(): Promise<void>;
  down(): Promise<void>;
}> {
  const raw: Delivery[] = [];
  const accepted: Delivery[] = [];
  const keys = new Map<string, string>();
  let server: Server | null = null;
  const state = {
    url: `http://127.0.0.1:${port}/intake/cases`,
    raw,
    accepted,
    badSignatures: 0,
    failNext: 0,
    async up() {
      if (server) return;
      const s = createServer((req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          const ts = Number(req.headers[SIG_HEADERS.timestamp]);
          const sig = String(req.headers[SIG_HEADERS.signature] ?? '');
          if (!verifySignature(secret, ts, body, sig)) {
            state.badSignatures++;
            res.writeHead(401).end('bad signature');
            return;
          }
          if (state.failNext > 0) {
            state.failNext--;
            res.writeHead(503).end('busy');
            return;
          }
          const key = String(req.headers[SIG_HEADERS.idempotencyKey]);
          const d = {
            key,
            body: JSON.parse(body.toString('utf8')) as Record<string, unknown>,
            at: Date.now(),
          };
          raw.push(d);
          let caseId = keys.get(key);
          if (!caseId) {
            caseId = `SZ-CASE-${keys.size + 1}`;
            keys.set(key, caseId);
            accepted.push(d);
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ caseId }));
        });
      });
      await new Promise<void>((r, j) => {
        s.once('error', j);
        s.listen(port, '127.0.0.1', () => r());
      });
      server = s;
    },
    async down() {
      const s = server;
      server = null;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    },
  };
  await state.up();
  return state;
}

/** Signs and posts a platform callback like a vendor would. */
export async function postCallback(
  baseUrl: string,
  body: unknown,
  opts: { secret: string; target?: string; ts?: number; tamper?: boolean },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const text = JSON.stringify(body);
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  const sig = signatureHeader(opts.secret, ts, opts.tamper ? `${text} ` : text);
  const res = await fetch(`${baseUrl}/callbacks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [SIG_HEADERS.target]: opts.target ?? 'city',
      [SIG_HEADERS.timestamp]: String(ts),
      [SIG_HEADERS.signature]: sig,
    },
    body: text,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export { waitFor } from '../helpers/wait-for.js';

export async function writeGridFile(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'grids.geojson');
  await writeFile(file, JSON.stringify(gridGeoJson()));
  return file;
}

/**
 * Options for a dispatcher under test against a real Redis: the given prefix and config over
 * the fixture grids and cameras, no forwarding, no workers unless asked, no schedulers.
 */
export function testDispatcherOptions(o: {
  redisUrl: string;
  dir: string;
  grids: GridIndex;
  config: Record<string, unknown>;
  logger: Logger;
}): CreateDispatcherOptions {
  return {
    config: DispatcherConfigSchema.parse({ fallbackGridCode: GRID.township, tickSec: 3_600, ...o.config }),
    forwarding: [],
    redisUrl: o.redisUrl,
    grids: () => o.grids,
    cameras: () => cameras(),
    typeInfo: () => undefined,
    publicUrl: 'https://gridwatch.example.cn/',
    baseDir: o.dir,
    retention: { alertsDays: 180, evidenceDays: 30, evidenceMaxMb: 100 },
    workers: false,
    schedulers: false,
    logger: o.logger,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
  };
}
