import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../features/dispatcher/dispatcher.js';
import { DispatcherConfigSchema } from '../../features/dispatcher/dispatcher-config.js';
import { loadGridFile } from '../../core/grid/grid-index.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { startTestRedis } from '../helpers/redis.js';
import { cameras, finding, GRID, recordingNotifier, waitFor, writeGridFile } from './fixtures.js';

const ROOT = resolve(import.meta.dirname, '../..');
const logger = pino({ level: 'silent' });
let redis: Awaited<ReturnType<typeof startTestRedis>>;
let dir: string;
let gatewayFile: string;
const children: ChildProcess[] = [];
const producers: Dispatcher[] = [];
const PREFIX = 'mp';

const CAMERA_YAML = `site: 测试
cameras:
  - id: cam-a
    name: 南新路与大新路交叉口东
    deviceId: "44030500001320000001"
    gridCode: "${GRID.gridA}"
    source: { kind: rtsp, url: "rtsp://127.0.0.1:8554/cam" }
    location: { lon: 113.905, lat: 22.53 }
    zones:
      - id: z-noparking
        name: 南新路禁停区
        polygon: [[0, 0], [1, 0], [1, 1]]
        rules: [illegal_parking]
        gridCode: "${GRID.gridB}"
`;

beforeAll(async () => {
  redis = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'gw-mp-'));
  await writeGridFile(dir);
  await mkdir(join(dir, 'cameras'));
  await writeFile(join(dir, 'cameras', 'a.yaml'), CAMERA_YAML);
  gatewayFile = join(dir, 'gateway.yaml');
  await writeFile(
    gatewayFile,
    [
      'dataDir: ./var',
      'cameras: { dirs: [./cameras] }',
      'grids: { file: ./grids.geojson }',
      'dispatcher:',
      `  prefix: ${PREFIX}`,
      '  lockDurationMs: 1500',
      '  concurrency: 20',
      '  dedup: { default: { windowSec: 300, keys: [camera, type, zone, place] } }',
      '',
    ].join('\n'),
  );
});

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  }
  for (const p of producers.splice(0)) await p.close();
});

afterAll(async () => {
  await redis.close();
  await rm(dir, { recursive: true, force: true });
});

/** A real dispatcher process: `node --import tsx app/dispatcher-worker.ts`. */
async function spawnWorker(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'app/dispatcher-worker.ts',
      '--config',
      gatewayFile,
      '--redis',
      redis.url,
      '--no-schedulers',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, GRIDWATCH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`worker did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('gridwatch is running')) {
        clearTimeout(timer);
        res();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`worker exited with ${code}: ${out}`));
    });
  });
  return child;
}

async function producer(
  notifier?: ReturnType<typeof recordingNotifier>,
  sinkBatchMax?: number,
): Promise<Dispatcher> {
  const { index } = await loadGridFile(join(dir, 'grids.geojson'));
  const d = createDispatcher({
    config: DispatcherConfigSchema.parse({ prefix: PREFIX }),
    ...(sinkBatchMax ? { sinkBatchMax } : {}),
    forwarding: [],
    redisUrl: redis.url,
    grids: () => index,
    cameras: () => cameras(),
    typeInfo: () => undefined,
    publicUrl: 'http://127.0.0.1:8080',
    baseDir: dir,
    retention: { alertsDays: 180, evidenceDays: 30, evidenceMaxMb: 100 },
    workers: false,
    schedulers: false,
    ...(notifier ? { notifier } : {}),
    logger,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
  });
  producers.push(d);
  await d.start();
  return d;
}

async function drained(d: Dispatcher): Promise<boolean> {
  const c = await d.queues.findings.getJobCounts('wait', 'active', 'delayed', 'prioritized');
  return (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) === 0;
}

type Done = { name: string; data: unknown; returnvalue: unknown };
const idsOf = (j: Done): string[] =>
  j.name === 'batch'
    ? (j.data as { findings: { id: string }[] }).findings.map((f) => f.id)
    : [(j.data as { id: string }).id];
/** Outcome counts summed over completed jobs (a batch returns its counts, a single job its kind). */
function outcomes(jobs: Done[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const j of jobs) {
    const r: Record<string, number> =
      j.name === 'batch'
        ? (JSON.parse(j.returnvalue as string) as Record<string, number>)
        : { [j.returnvalue as string]: 1 };
    for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

describe('dispatcher processes against one Redis', () => {
  it('findings for the same vehicle handled by two processes make one alert', async () => {
    await Promise.all([spawnWorker(), spawnWorker()]);
    const notifier = recordingNotifier();
    // Small sink batches, so that the findings spread over many jobs and both processes race.
    const d = await producer(notifier, 4);
    const findings = Array.from({ length: 60 }, (_, i) =>
      finding({ id: `mp-same-vehicle-${i}`, placeKey: 'car-粤B12345', trackIds: [`t${i % 3}`] }),
    );
    await Promise.all(findings.map((f) => d.sink.submit(f)));
    await waitFor('drained', () => drained(d), 60_000);
    const list = await d.alerts.list({ scope: GRID.city, limit: 50 });
    expect(list.total).toBe(1);
    expect(list.items[0]).toMatchObject({
      count: 60,
      gridCode: GRID.gridB,
      routedBy: 'zone',
      typeLabel: { zh: '违章停车' },
    });
    const done = await d.queues.findings.getJobs(['completed'], 0, 100);
    expect(done.flatMap(idsOf).sort()).toEqual(findings.map((f) => f.id).sort());
    // Both processes really took part: the race between them is what the test is about.
    expect(new Set(done.map((j) => j.processedBy)).size).toBe(2);
    expect(outcomes(done)).toEqual({ new: 1, update: 59 });
    // Changes made in the worker processes reach this process's notifier through the Redis stream.
    await waitFor('relayed', async () => notifier.events.some((e) => e.alert.count === 60));
    expect(notifier.events.filter((e) => e.kind === 'new')).toHaveLength(1);
    expect(notifier.events).toHaveLength(60);
  });

  it('SIGKILL of a process holding jobs: no finding lost, none doubled', async () => {
    const victim = await spawnWorker();
    const d = await producer(undefined, 10);
    const N = 400;
    const findings = Array.from({ length: N }, (_, i) =>
      finding({ id: `mp-kill-${i}`, placeKey: `spot-${i}`, trackIds: [`k${i}`] }),
    );
    const before = (await d.alerts.list({ scope: GRID.city, limit: 1 })).total;
    await Promise.all(findings.map((f) => d.sink.submit(f)));
    await waitFor(
      'some processed',
      async () => (await d.alerts.list({ scope: GRID.city, limit: 1 })).total - before >= 30,
      60_000,
    );
    victim.kill('SIGKILL');
    await new Promise((r) => victim.once('exit', r));
    const held = await d.queues.findings.getActiveCount();
    expect(held).toBeGreaterThan(0);
    await spawnWorker();
    await waitFor('drained after recovery', () => drained(d), 90_000);
    const all = await d.alerts.list({ scope: GRID.city, limit: 500 });
    const mine = all.items.filter((a) => a.trackIds.some((t) => /^k\d+$/.test(t)));
    expect(mine).toHaveLength(N);
    expect(mine.every((a) => a.count === 1)).toBe(true);
    const failed = await d.queues.findings.getJobs(['failed']);
    expect(failed).toHaveLength(0);
    // Every finding was applied once: jobs the victim died holding were run again, and what it
    // had already applied of them came back as duplicates (seen-set), not as second alerts.
    const mineIds = new Set(findings.map((f) => f.id));
    const done = (await d.queues.findings.getJobs(['completed'], 0, 1_000)).filter((j) =>
      idsOf(j).every((id) => mineIds.has(id)),
    );
    expect(done.flatMap(idsOf).sort()).toEqual([...mineIds].sort());
    const o = outcomes(done);
    expect((o.new ?? 0) + (o.duplicate ?? 0)).toBe(N);
    expect(Object.keys(o).filter((k) => k !== 'new' && k !== 'duplicate')).toEqual([]);
  });
});
