/**
 * Wall fan-out benchmark (npm run bench:wall): 100 Socket.IO wall clients scoped to different
 * counties, townships and the city, alerts created by the real dispatcher from findings at a
 * fixed rate, real Redis (BullMQ, alert event stream, redis-streams adapter). Measures the time
 * from an alert's creation (alert.createdAt, set when the dispatcher commits it) to its arrival
 * at each client in scope, and to the last client in scope. The clients run in a worker thread
 * so their parsing does not sit on the server's event loop.
 *   npm run bench:wall [-- --rate 50 --seconds 20 --clients 100]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';
import type { Alert } from '../core/contracts/alert.js';
import { createLogger } from '../core/logger.js';
import { buildGateway } from '../app/build-gateway.js';
import { hashPassword } from '../features/wall/password-hash.js';
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
  // Run in reverse: the gateway (and its embedded Redis) stops before its directory goes.
  const cleanup: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })];
  try {
    await measure(dir, { rate, seconds, nClients }, cleanup);
  } finally {
    for (const c of cleanup.reverse()) await c();
  }
}

async function measure(
  dir: string,
  o: { rate: number; seconds: number; nClients: number },
  cleanup: Array<() => Promise<void>>,
): Promise<void> {
  const { rate, seconds, nClients } = o;
  const load0 = loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
  const camerasRaw: Array<[string, string, string]> = [
    ['b-df-01', '东风路口', '330101001001001'],
    ['b-df-02', '东风菜市场', '330101001001002'],
    ['b-bs-01', '北山公园', '330101002001001'],
    ['b-bj-01', '滨江大道', '330102001001001'],
  ];
  const cameraIds = camerasRaw.map(([id]) => id);
  const scopes = [
    ...Array.from({ length: Math.round(nClients * 0.45) }, () => '330101'),
    ...Array.from({ length: Math.round(nClients * 0.45) }, () => '330102'),
  ];
  while (scopes.length < nClients) scopes.push(scopes.length % 2 ? '3301' : '330101002');
  const scopeUsers = [...new Set(scopes)];
  const password = 'bench-pass';
  const hash = await hashPassword(password);
  const users = scopeUsers.map((scope, i) => ({
    username: `bench${i}`,
    role: scope === '3301' ? 'admin' : 'operator',
    scope,
  }));

  // One gateway as production builds it (app/build-gateway.ts), roles dispatch + wall, with
  // its embedded Redis; cameras, grids and users go in through gateway.yaml. No ingest role:
  // the benchmark measures the alert path, findings are submitted to the dispatcher's sink.
  await mkdir(join(dir, 'cameras'));
  await writeFile(
    join(dir, 'cameras', 'bench.yaml'),
    'cameras:\n' +
      camerasRaw
        .map(
          ([id, name, gridCode]) =>
            `  - { id: ${id}, name: ${name}, gridCode: '${gridCode}', source: { kind: rtsp, url: 'rtsp://127.0.0.1:9/${id}' }, location: { lon: 120.02, lat: 30.02 } }\n`,
        )
        .join(''),
  );
  const grids = new URL('../test/wall/fixtures/grids.geojson', import.meta.url).pathname;
  await writeFile(
    join(dir, 'gateway.yaml'),
    [
      'http: { host: 127.0.0.1, port: 0 }',
      'dataDir: ./var',
      'timezone: Asia/Shanghai',
      'cameras: { dirs: [./cameras] }',
      `grids: { file: ${JSON.stringify(grids)} }`,
      'users:',
      ...users.map(
        (u, i) =>
          `  - { username: ${u.username}, displayName: 席位${i}, role: ${u.role}, scope: '${u.scope}', passwordHash: '${hash}' }`,
      ),
      'dispatcher:',
      '  dedup: { default: { windowSec: 300, keys: [camera, type, zone, track] } }',
      '',
    ].join('\n'),
  );
  const gw = await buildGateway({
    config: join(dir, 'gateway.yaml'),
    roles: ['dispatch', 'wall'],
    logger: createLogger({ level: 'warn', pretty: false }),
  });
  cleanup.push(() => gw.close());
  const url = gw.url!;
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
  // Process CPU (every thread: server, dispatcher, the clients' worker): load-independent.
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const cam = cameraIds[i % cameraIds.length]!;
    const now = Date.now();
    const track = `bench-${i}`;
    submitted.set(track, now);
    await gw.dispatcher.sink.submit({
      id: `bench-${t0}-${i}`,
      cameraId: cam,
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
  const cpu = process.cpuUsage(cpu0);
  const cpuPerAlertUs = (cpu.user + cpu.system) / total;
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
  const md = `${nClients} Socket.IO wall clients (${scopes.filter((s) => s === '330101').length} 东城区, ${scopes.filter((s) => s === '330102').length} 江南区, ${scopes.filter((s) => s === '330101002').length} 北山街道, ${scopes.filter((s) => s === '3301').length} city), one gateway process built by \`buildGateway\` (roles dispatch + wall) with the redis-streams adapter, real dispatcher (BullMQ) and embedded Redis; ${total} findings at ${rate}/s (sent in ${sendSec.toFixed(1)} s), each a new alert. Clients in a worker thread of the same process. Target: p99 ≤ 250 ms.

${table}

Process CPU per alert (user + system, all threads of the gateway process including the clients' worker thread; independent of machine load): **${cpuPerAlertUs.toFixed(0)} µs**.

Alerts never seen by any client: ${lostAlerts}; deliveries missing to a client in scope: ${missing}; deliveries to a client out of scope: ${outOfScope}.

Load average at the start: ${load0}; at the end: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')} (2 cores shared with the other helpers' jobs: compare the figures of one run).

Command: \`npm run bench:wall -- --rate ${rate} --seconds ${seconds} --clients ${nClients}\``;
  console.log(md);
  console.log(`cpu-per-alert-us ${cpuPerAlertUs.toFixed(0)}`);
  recordResults('wall', 'Wall: alert fan-out to 100 clients', md);
}
