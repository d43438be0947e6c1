/**
 * Snapshot cameras at scale (`npm run bench:snapshot`, issue 12): N HTTP snapshot cameras with
 * digest auth, one sample per interval each, through the real ingest (snapshot client with
 * keep-alive agent, concurrency limit and nonce reuse), against a server of real JPEG frames
 * (vtest.avi, decoded once) in a child process.
 * Env: BENCH_SNAP_CAMERAS (default 1000), BENCH_SNAP_INTERVAL (10 s), BENCH_SEC (measured, 30 s),
 * BENCH_SNAP_CONCURRENCY (32), BENCH_NO_RECORD=1 (trial run).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { recordResults } from './lib/record.js';
import { CameraSchema } from '../core/contracts/camera-schema.js';
import type { LoadedCamera } from '../core/contracts/loaded-camera.js';
import { createEvidenceStore } from '../core/evidence/evidence-store.js';
import { createLogger } from '../core/logger.js';
import { createMetricsRegistry } from '../core/metrics.js';
import { createIngest } from '../features/ingest/ingest.js';
import { IngestConfigSchema } from '../features/ingest/ingest-config.js';
import { p95 } from '../features/ingest/ingest-metrics.js';

const TICK = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cpuOf = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
};

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_SNAP_CAMERAS ?? 1000);
  const interval = Number(process.env.BENCH_SNAP_INTERVAL ?? 10);
  const seconds = Number(process.env.BENCH_SEC ?? 30);
  const concurrency = Number(process.env.BENCH_SNAP_CONCURRENCY ?? 32);
  const password = `bench-${Math.random().toString(36).slice(2)}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/snapshot-server-main.ts'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const out = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  child.stdin!.write(`${JSON.stringify({ username: 'admin', password })}\n`);
  const base = (JSON.parse(String((await out.next()).value)) as { url: string }).url;
  const serverStats = async () => {
    child.stdin!.write('stats\n');
    return JSON.parse(String((await out.next()).value)) as Record<string, number>;
  };
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const ingest = createIngest({
    config: IngestConfigSchema.parse({
      snapshotConcurrency: concurrency,
      // every simulated camera sits at one address, as behind an NVR
      snapshotSocketsPerHost: concurrency,
      maxDecodesPerSec: 400,
    }),
    timeZone: 'Asia/Shanghai',
    logger: createLogger({
      level: 'warn',
      pretty: false,
      destination: new Writable({ write: (_c, _e, cb) => cb() }),
    }),
    metrics: registry,
    frameSize: { width: 512, height: 512 },
    findingSink: { submit: async () => undefined },
    evidence: createEvidenceStore({ dir: '/tmp/gw-bench-evidence' }),
    resolveSecret: () => password,
  });
  const cams: LoadedCamera[] = Array.from({ length: n }, (_, i) => ({
    ...CameraSchema.parse({
      id: `snap-${i}`,
      name: `snap ${i}`,
      source: { kind: 'snapshot', url: base.replace('/cam/X/', `/cam/snap-${i}/`), auth: 'digest' },
      credentials: { username: 'admin', password: { env: 'UNUSED' } },
      samplingIntervalSec: interval,
      location: { lon: 116.4, lat: 39.9 },
    }),
    file: 'bench.yaml',
    line: i + 1,
    baseDir: '/tmp',
    wgs84: { lon: 116.4, lat: 39.9 },
  }));
  const lags: number[] = [];
  let frames = 0;
  let measuring = false;
  ingest.onFrame((f) => {
    if (!measuring) return;
    frames++;
    lags.push(f.capturedAt - (f.scheduledAt ?? f.capturedAt));
  });
  const load0 = loadavg();
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  ingest.update(cams);
  const upBy = Date.now() + 120_000;
  while (Date.now() < upBy && ingest.directory.list().filter((s) => s.framesSampled > 0).length < n)
    await sleep(250);
  const up = ingest.directory.list().filter((s) => s.framesSampled > 0).length;
  const upSec = (Date.now() - t0) / 1000;
  await sleep(interval * 1000);
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const s0 = await serverStats();
  const c0 = cpu();
  const sc0 = cpuOf(child.pid!);
  measuring = true;
  const m0 = Date.now();
  await sleep(seconds * 1000);
  measuring = false;
  const el = (Date.now() - m0) / 1000;
  const c1 = cpu();
  const sc1 = cpuOf(child.pid!);
  const s1 = await serverStats();
  const rss = (process.memoryUsage().rss - rss0) / 2 ** 20;
  const statuses = ingest.directory.list();
  const online = statuses.filter((s) => s.state === 'online').length;
  const notOnline: Record<string, number> = {};
  for (const s of statuses)
    if (s.state !== 'online')
      notOnline[`${s.state} ${(s.reason ?? '').split(':')[0]}`] =
        (notOnline[`${s.state} ${(s.reason ?? '').split(':')[0]}`] ?? 0) + 1;
  await ingest.close();
  child.stdin!.end();
  const load1 = loadavg();
  const d = (k: string) => (s1[k] ?? 0) - (s0[k] ?? 0);
  const lagP95 = p95(lags);
  const md = [
    `Command: \`npm run bench:snapshot\` (BENCH_SNAP_CAMERAS=${n}, BENCH_SNAP_INTERVAL=${interval}, BENCH_SEC=${seconds}, BENCH_SNAP_CONCURRENCY=${concurrency}).`,
    '',
    `${n} snapshot cameras, one sample every ${interval} s each, through the real ingest (one runner per camera, the node's snapshot client: keep-alive agent, ${concurrency} requests in flight at most, digest nonce kept per camera with a rising nc). The cameras are one HTTP server in a child process answering RFC 7616 digest (MD5, qop=auth) with 40 real JPEG frames of vtest.avi (768x576, decoded once by ffmpeg); all sit at one address as behind an NVR, so the agent keeps ${concurrency} sockets to it. Each sample is decoded and resized to the detectors' 512x512 RGB by sharp. Measured for ${Math.round(el)} s, one interval after every camera had delivered a first frame.`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| cameras with a first frame | ${up} of ${n} after ${upSec.toFixed(1)} s |`,
    `| online at the end | ${online} of ${n}${
      Object.keys(notOnline).length
        ? ` (others: ${Object.entries(notOnline)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`
        : ''
    } |`,
    `| frames (expected) | ${frames} (${Math.round((n * el) / interval)}) |`,
    `| p95 lag / max | ${lagP95 === null ? '-' : `${Math.round(lagP95)} ms`} / ${lags.length ? `${Math.round(Math.max(...lags))} ms` : '-'} |`,
    `| HTTP requests / 200s / 401 challenges / replays (server side, measured window) | ${d('requests')} / ${d('served')} / ${d('challenged')} / ${d('replays')} |`,
    `| TCP connections opened (whole run, keep-alive) | ${s1.connections} |`,
    `| most requests in flight at the server | ${s1.maxInFlight} (limit ${concurrency}) |`,
    `| gateway CPU (Node: HTTP, digest, sharp JPEG → RGB) | ${((c1 - c0) / el).toFixed(2)} cores; ${(((c1 - c0) / Math.max(1, frames)) * 1000).toFixed(1)} ms per sample |`,
    `| snapshot server CPU (would not run on a gateway) | ${((sc1 - sc0) / el).toFixed(2)} cores |`,
    `| Node RSS growth | ${rss.toFixed(0)} MiB (${((rss * 1024) / n).toFixed(0)} KiB per camera) |`,
    `| load average 1/5/15 min, start → end | ${load0.map((x) => x.toFixed(1)).join(' / ')} → ${load1.map((x) => x.toFixed(1)).join(' / ')} (2 cores shared with other jobs) |`,
  ].join('\n');
  process.stderr.write(`${md}\n`);
  if (process.env.BENCH_NO_RECORD !== '1')
    recordResults('ingest-snapshot', 'Ingest: snapshot cameras at scale (issue 12)', md);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
