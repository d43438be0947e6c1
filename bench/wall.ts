/**
 * Wall fan-out benchmark (npm run bench:wall): 100 Socket.IO wall clients scoped to different
 * counties, townships and the city, alerts created by the real dispatcher from findings at a
 * fixed rate, real Redis (BullMQ, alert event stream, redis-streams adapter). Measures the time
 * from an alert's creation (alert.createdAt, set when the dispatcher commits it) to its arrival
 * at each client in scope, and to the last client in scope. The clients run in a worker thread
 * so their parsing does not sit on the server's event loop.
 *   npm run bench:wall [-- --rate 50 --seconds 20 --clients 100]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';
import { CameraSchema } from '../core/contracts/camera-schema.js';
import type { Alert } from '../core/contracts/alert.js';
import type { CameraDirectory, CameraStatus } from '../core/contracts/camera-directory.js';
import type { LoadedCamera } from '../core/contracts/loaded-camera.js';
import { createEvidenceStore } from '../core/evidence/evidence-store.js';
import { loadGridFile } from '../core/grid/grid-index.js';
import { createLogger } from '../core/logger.js';
import { createMetricsRegistry } from '../core/metrics.js';
import { startEmbeddedRedis } from '../core/redis/embedded-redis.js';
import { alertLifecycleTable } from '../app/alert-lifecycle-table.js';
import { createWall } from '../features/wall/create-wall.js';
import { hashPassword } from '../features/wall/password-hash.js';
import type { UserConfig } from '../features/wall/wall-config.js';
import { DispatcherConfigSchema } from '../features/dispatcher/dispatcher-config.js';
import { createDispatcher } from '../features/dispatcher/dispatcher.js';
import { recordResults } from './lib/record.js';

interface ClientSpec {
  token: string;
  scope: string;
}
interface Delivery {
  client: number;
  id: string;
  at: number;
  createdAt: number;
  track: string;
  gridPath: string[];
}

// ---------- worker: the wall clients ----------
async function runClients(url: string, specs: ClientSpec[]): Promise<void> {
  const port = parentPort!;
  const sockets: Socket[] = [];
  const deliveries: Delivery[] = [];
  await Promise.all(
    specs.map(
      (s, i) =>
        new Promise<void>((resolve, reject) => {
          const sock = io(url, {
            auth: { token: s.token, protocol: 1 },
            transports: ['websocket'],
            forceNew: true,
          });
          sockets.push(sock);
          sock.on('alert:new', (a: Alert) => {
            deliveries.push({
              client: i,
              id: a.id,
              at: Date.now(),
              createdAt: a.createdAt,
              track: a.trackIds[0] ?? '',
              gridPath: a.gridPath.map((g) => g.code),
            });
          });
          sock.once('wall:hello', () => resolve());
          sock.once('connect_error', reject);
        }),
    ),
  );
  port.postMessage({ kind: 'ready' });
  port.on('message', (m: { kind: string }) => {
    if (m.kind !== 'finish') return;
    for (const s of sockets) s.disconnect();
    port.postMessage({ kind: 'done', deliveries });
  });
}

if (!isMainThread) {
  const d = workerData as { url: string; specs: ClientSpec[] };
  runClients(d.url, d.specs).catch((err: unknown) => {
    parentPort!.postMessage({ kind: 'error', message: String(err) });
  });
} else {
  await main();
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '20' },
      clients: { type: 'string', default: '100' },
    },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const nClients = Number(values.clients);
  const dir = await mkdtemp(join(tmpdir(), 'gw-bench-wall-'));
  const redis = await startEmbeddedRedis({ dir });
  // Run in reverse: Redis stops before its directory goes.
  const cleanup: Array<() => Promise<void>> = [
    () => rm(dir, { recursive: true, force: true }),
    () => redis.close(),
  ];
  try {
    await measure(redis.url, dir, { rate, seconds, nClients }, cleanup);
  } finally {
    // Newest first: the wall before the dispatcher before Redis.
    for (const c of cleanup.reverse()) await c();
  }
}

async function measure(
  redisUrl: string,
  dir: string,
  o: { rate: number; seconds: number; nClients: number },
  cleanup: Array<() => Promise<void>>,
): Promise<void> {
  const { rate, seconds, nClients } = o;
  const logger = createLogger({ level: 'warn', pretty: false });
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const { index: grids } = await loadGridFile(
    new URL('../test/wall/fixtures/grids.geojson', import.meta.url).pathname,
  );

  const camerasRaw: Array<[string, string, string]> = [
    ['b-df-01', '东风路口', '330101001001001'],
    ['b-df-02', '东风菜市场', '330101001001002'],
    ['b-bs-01', '北山公园', '330101002001001'],
    ['b-bj-01', '滨江大道', '330102001001001'],
  ];
  const cameras: LoadedCamera[] = camerasRaw.map(([id, name, gridCode], i) => {
    const c = CameraSchema.parse({
      id,
      name,
      gridCode,
      source: { kind: 'rtsp', url: `rtsp://127.0.0.1:9/${id}` },
      location: { lon: 120.02, lat: 30.02 },
    });
    return { ...c, file: 'bench.yaml', line: i + 1, baseDir: dir, wgs84: { lon: 120.02, lat: 30.02 } };
  });
  // The benchmark measures the alert path only; camera states are static here.
  const statuses: CameraStatus[] = cameras.map((c) => ({
    id: c.id,
    name: c.name,
    gridCode: c.gridCode ?? null,
    sourceKind: 'rtsp',
    state: 'online',
    reason: null,
    since: Date.now(),
    lastFrameAt: null,
    framesSampled: 0,
    restarts: 0,
    lagP95Ms: null,
  }));
  const directory: CameraDirectory = {
    list: () => statuses,
    get: (id) => statuses.find((s) => s.id === id),
    startLiveView: () => Promise.reject(new Error('no live view in the benchmark')),
    lastFrame: () => null,
    onState: () => () => undefined,
  };

  const scopes = [
    ...Array.from({ length: Math.round(nClients * 0.45) }, () => '330101'),
    ...Array.from({ length: Math.round(nClients * 0.45) }, () => '330102'),
  ];
  while (scopes.length < nClients) scopes.push(scopes.length % 2 ? '3301' : '330101002');
  const scopeUsers = [...new Set(scopes)];
  const password = 'bench-pass';
  const hash = await hashPassword(password);
  const users: UserConfig[] = scopeUsers.map((scope, i) => ({
    username: `bench${i}`,
    displayName: `席位${i}`,
    role: scope === '3301' ? 'admin' : 'operator',
    scope,
    passwordHash: hash,
  }));

  let wallNotifier: import('../core/contracts/alert-service.js').AlertNotifier | null = null;
  const dispatcher = createDispatcher({
    config: DispatcherConfigSchema.parse({
      dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone', 'track'] } },
    }),
    forwarding: [],
    redisUrl,
    grids: () => grids,
    cameras: () => cameras,
    typeInfo: () => ({ type: 'illegal_parking', zh: '违停', en: 'Illegal parking' }),
    notifier: { alertChanged: (a, k) => wallNotifier?.alertChanged(a, k) },
    publicUrl: 'http://127.0.0.1:1',
    baseDir: dir,
    retention: { alertsDays: 180, evidenceDays: 30, evidenceMaxMb: 1024 },
    logger,
    metrics,
  });
  cleanup.push(() => dispatcher.close());
  await dispatcher.start();
  const wall = createWall({
    config: {
      http: { host: '127.0.0.1', port: 0 },
      auth: { sessionTtlMin: 60, loginAttempts: 5, loginWindowSec: 300 },
      users,
      timezone: 'Asia/Shanghai',
    },
    dataDir: dir,
    redisUrl,
    alerts: dispatcher.alerts,
    cameras: directory,
    grids: () => grids,
    evidence: createEvidenceStore({ dir: join(dir, 'evidence') }),
    typeInfos: () => [],
    lifecycle: alertLifecycleTable(),
    health: { ready: async () => ({ ready: true, checks: {} }), details: async () => ({}) },
    metrics,
    admin: { rejectedCameras: () => [], plugins: () => [] },
    logger,
  });
  wallNotifier = wall.notifier;
  cleanup.push(() => wall.close());
  const { url } = await wall.start();
  const tokens = new Map<string, string>();
  for (const u of users) {
    const res = await fetch(`${url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: u.username, password }),
    });
    tokens.set(u.scope, ((await res.json()) as { token: string }).token);
  }
  const specs: ClientSpec[] = scopes.map((scope) => ({ scope, token: tokens.get(scope)! }));

  // gateway/util/worker-entry's `--import tsx` is ignored for workers on Node 20.20, so the
  // worker registers tsx's hooks itself before importing this file.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: { url, specs } });
  cleanup.push(async () => {
    await worker.terminate();
  });
  const fromWorker = (kind: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const on = (m: Record<string, unknown>) => {
        if (m.kind === 'error') reject(new Error(String(m.message)));
        if (m.kind === kind) {
          worker.off('message', on);
          resolve(m);
        }
      };
      worker.on('message', on);
      worker.once('error', reject);
    });
  await fromWorker('ready');
  console.log(`${nClients} clients connected; sending ${rate} findings/s for ${seconds}s`);

  const total = Math.round(rate * seconds);
  const submitted = new Map<string, number>();
  const t0 = Date.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const cam = cameras[i % cameras.length]!;
    const now = Date.now();
    const track = `bench-${i}`;
    submitted.set(track, now);
    await dispatcher.sink.submit({
      id: `bench-${t0}-${i}`,
      cameraId: cam.id,
      type: 'illegal_parking',
      zoneId: null,
      score: 0.6,
      trackIds: [track],
      boxes: [],
      firstSeen: now - 60_000,
      lastSeen: now,
      evidence: { first: null, latest: null },
      detector: { plugin: 'bench', version: '1' },
    });
  }
  const sendSec = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 3_000)); // let the tail arrive
  worker.postMessage({ kind: 'finish' });
  const { deliveries } = (await fromWorker('done')) as unknown as { deliveries: Delivery[] };

  // Expected recipients per alert: every client whose scope is on the alert's grid path.
  const byAlert = new Map<string, Delivery[]>();
  for (const d of deliveries) (byAlert.get(d.id) ?? byAlert.set(d.id, []).get(d.id)!).push(d);
  const perDelivery: number[] = [];
  const perAlertLast: number[] = [];
  const fromSubmit: number[] = [];
  let missing = 0;
  let outOfScope = 0;
  for (const ds of byAlert.values()) {
    const path = new Set(ds[0]!.gridPath);
    const expected = specs.filter((s) => path.has(s.scope)).length;
    const got = new Set(ds.map((d) => d.client));
    for (const d of ds) if (!path.has(specs[d.client]!.scope)) outOfScope++;
    missing += Math.max(0, expected - got.size);
    for (const d of ds) perDelivery.push(d.at - d.createdAt);
    perAlertLast.push(Math.max(...ds.map((d) => d.at - d.createdAt)));
    const sub = submitted.get(ds[0]!.track);
    if (sub !== undefined) fromSubmit.push(Math.max(...ds.map((d) => d.at)) - sub);
  }
  perDelivery.sort((a, b) => a - b);
  perAlertLast.sort((a, b) => a - b);
  fromSubmit.sort((a, b) => a - b);
  const alertsSeen = byAlert.size;
  const lostAlerts = total - alertsSeen;

  const table = [
    '| measure | p50 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: |',
    `| alert created → each client in scope (${perDelivery.length} deliveries) | ${pct(perDelivery, 50)} | ${pct(perDelivery, 99)} | ${perDelivery.at(-1)} |`,
    `| alert created → last client in scope (${alertsSeen} alerts) | ${pct(perAlertLast, 50)} | ${pct(perAlertLast, 99)} | ${perAlertLast.at(-1)} |`,
    `| finding submitted (queue, dispatcher, relay) → last client in scope | ${pct(fromSubmit, 50)} | ${pct(fromSubmit, 99)} | ${fromSubmit.at(-1)} |`,
  ].join('\n');
  const md = `${nClients} Socket.IO wall clients (${scopes.filter((s) => s === '330101').length} 东城区, ${scopes.filter((s) => s === '330102').length} 江南区, ${scopes.filter((s) => s === '330101002').length} 北山街道, ${scopes.filter((s) => s === '3301').length} city), one gateway process with the redis-streams adapter, real dispatcher (BullMQ) and embedded Redis; ${total} findings at ${rate}/s (sent in ${sendSec.toFixed(1)} s), each a new alert. Clients in a worker thread of the same process. Target: p99 ≤ 250 ms.

${table}

Alerts never seen by any client: ${lostAlerts}; deliveries missing to a client in scope: ${missing}; deliveries to a client out of scope: ${outOfScope}.

Command: \`npm run bench:wall -- --rate ${rate} --seconds ${seconds} --clients ${nClients}\``;
  console.log(md);
  recordResults('wall', 'Wall: alert fan-out to 100 clients', md);
}
