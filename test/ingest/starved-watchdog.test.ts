import { readdirSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CameraStatus } from '../../core/contracts/camera-directory.js';
import { resolveSecret } from '../../core/config/resolve-secret.js';
import { Codes } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { createCameraRunner, type CameraRunner } from '../../features/ingest/camera-runner.js';
import { createDecodeBudget } from '../../features/ingest/decode-budget.js';
import { IngestConfigSchema } from '../../features/ingest/ingest-config.js';
import { createIngestMetrics } from '../../features/ingest/ingest-metrics.js';
import { createSnapshotClient } from '../../features/ingest/snapshot-client.js';
import {
  procSchedReader,
  STARVATION_MAX_HOLD_MS,
  type SchedReader,
} from '../../features/ingest/starvation.js';
import { vtestH264 } from '../helpers/media.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp-server.js';
import { camera, waitFor } from './support.js';

/**
 * The stall watchdog on a real runner, ffmpeg pipeline and RTSP server. The runner's clock is
 * the `now` passed to tick(), so the test steps it past the stall limit instead of waiting; the
 * sampler is SIGSTOPped so no frame arrives meanwhile (a real stall, read from the real /proc).
 * Starvation is the one thing injected: extra runqueue wait added to the real readings.
 */
describe('stall watchdog: starved node vs stalled camera', () => {
  let server: RtspServer;
  let runner: CameraRunner | null = null;
  const stopped: number[] = [];

  beforeAll(async () => {
    server = await startRtspServer({ clips: { cam: vtestH264() } });
  });
  afterEach(async () => {
    for (const pid of stopped.splice(0)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await runner?.stop();
    runner = null;
  });
  afterAll(async () => {
    await server?.close();
  });

  async function start(read: SchedReader) {
    let logText = '';
    const logger = createLogger({
      level: 'debug',
      pretty: false,
      destination: new Writable({
        write(chunk: Buffer, _enc, cb) {
          logText += chunk.toString();
          cb();
        },
      }),
    });
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const statuses: CameraStatus[] = [];
    let frames = 0;
    const r = createCameraRunner({
      cam: camera({ id: 'cam', source: { kind: 'rtsp', url: server.url('cam') }, samplingIntervalSec: 1 }),
      config: IngestConfigSchema.parse({ startStaggerMs: 0, backoff: { initialMs: 200, maxMs: 1_000 } }),
      timeZone: 'Asia/Shanghai',
      frameSize: { width: 256, height: 256 },
      logger,
      metrics: createIngestMetrics(registry),
      budget: createDecodeBudget({ maxFfmpeg: 4, maxDecodesPerSec: 30, staggerMs: 0 }),
      snapshots: createSnapshotClient({ maxConcurrent: 1 }),
      resolveSecret: (ref, baseDir) => resolveSecret(ref, baseDir, process.env),
      ffmpegPath: 'ffmpeg',
      readSched: read,
      startDelayMs: 0,
      emitFrame: () => void frames++,
      emitStatus: (s) => void statuses.push(s),
      raiseOffline: () => {},
    });
    runner = r;
    await waitFor('two frames', () => frames >= 2, 30_000);
    const pid = r.pid()!;
    process.kill(pid, 'SIGSTOP');
    stopped.push(pid);
    // A thread is runnable until it has taken the stop: wait until every one has.
    const state = (tid: string) => {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return st[st.lastIndexOf(')') + 2];
    };
    await waitFor('every thread stopped', () =>
      readdirSync(`/proc/${pid}/task`).every((t) => state(t) === 'T'),
    );
    const t0 = r.status().lastFrameAt!;
    const metric = async (name: string, label: string) =>
      (await registry.getSingleMetric(name)!.get()).values.find((v) =>
        Object.values(v.labels).includes(label),
      )?.value ?? 0;
    return { r, pid, t0, statuses, logs: () => logText, metric, frames: () => frames };
  }

  it('starved: not restarted, degraded GW_CAMERA_STARVED, one warn per episode; restarted once the pipeline is idle', async () => {
    let extraNs = 0;
    let starving = true;
    const real = procSchedReader();
    // The real counters plus, while starving, 90 % of the elapsed test clock as runqueue wait.
    const read: SchedReader = (p) => {
      const x = real(p);
      return x && { ...x, waitNs: x.waitNs + extraNs };
    };
    const h = await start(read);
    let clock = h.t0;
    const advance = (to: number) => {
      if (starving) extraNs += 0.9 * (to - clock) * 1e6;
      clock = to;
      h.r.tick(to);
    };
    for (let t = 1_000; t <= 16_000; t += 1_000) advance(h.t0 + t);
    // the limit is 15 s (3 intervals of 1 s, at least 15 s); judged at 16 s: starved
    expect(h.r.status()).toMatchObject({ state: 'degraded' });
    expect(h.r.status().reason).toMatch(
      new RegExp(`^${Codes.GW_CAMERA_STARVED}: no frame for 16 s, but its ffmpeg waited for a CPU 90 %`),
    );
    for (let t = 17_000; t <= 26_000; t += 1_000) advance(h.t0 + t);
    expect(h.r.status().reason).toMatch(/no frame for 26 s/);
    expect(h.r.pid()).toBe(h.pid);
    expect(h.r.status().restarts).toBe(0);
    expect(await h.metric('gridwatch_ingest_stall_checks_total', 'starved')).toBe(2);
    expect(await h.metric('gridwatch_ingest_starved_episodes_total', 'cam')).toBe(1);
    const warns = h
      .logs()
      .split('\n')
      .filter((l) => l.includes('waiting for a CPU (node starved)'));
    expect(warns).toHaveLength(1);
    expect(JSON.parse(warns[0]!)).toMatchObject({
      level: 40,
      camera: 'cam',
      verdict: 'starved',
      windowMs: 10_000,
    });
    expect(h.logs()).not.toContain('stall watchdog restarts the camera');
    // the wall saw the reason (published, though logged once)
    expect(h.statuses.some((s) => s.reason?.startsWith(`${Codes.GW_CAMERA_STARVED}:`))).toBe(true);

    // The node has CPU again, but the (stopped) pipeline still gives nothing: a real stall.
    starving = false;
    for (let t = 27_000; t <= 36_000; t += 1_000) advance(h.t0 + t);
    expect(await h.metric('gridwatch_ingest_stall_checks_total', 'stalled')).toBe(1);
    expect(h.logs()).toMatch(/"verdict":"stalled"[^\n]*stall watchdog restarts the camera/);
    await waitFor('a new pipeline', () => h.r.pid() !== undefined && h.r.pid() !== h.pid, 20_000);
    expect(h.r.status().restarts).toBe(1);
  }, 60_000);

  it('no schedstat (missing /proc file): restarted at the stall limit, as without the check', async () => {
    const h = await start(() => null);
    for (let t = 1_000; t <= 16_000; t += 1_000) h.r.tick(h.t0 + t);
    expect(await h.metric('gridwatch_ingest_stall_checks_total', 'unknown')).toBe(1);
    expect(h.logs()).toMatch(/"verdict":"unknown"[^\n]*stall watchdog restarts the camera/);
    await waitFor('a new pipeline', () => h.r.pid() !== undefined && h.r.pid() !== h.pid, 20_000);
  }, 60_000);

  it('starved for longer than STARVATION_MAX_HOLD_MS: restarted anyway (a spinning ffmpeg on a busy node)', async () => {
    let extraNs = 0;
    const real = procSchedReader();
    const h = await start((p) => {
      const x = real(p);
      return x && { ...x, waitNs: x.waitNs + extraNs };
    });
    const end = 15_000 + STARVATION_MAX_HOLD_MS + 11_000;
    for (let t = 1_000; t <= end && h.r.pid() === h.pid; t += 1_000) {
      extraNs += 0.9 * 1_000 * 1e6;
      h.r.tick(h.t0 + t);
    }
    // judged starved every 10 s for the whole hold, then restarted with the hold in its reason
    expect(await h.metric('gridwatch_ingest_stall_checks_total', 'starved')).toBe(
      STARVATION_MAX_HOLD_MS / 10_000 + 1,
    );
    expect(await h.metric('gridwatch_ingest_starved_episodes_total', 'cam')).toBe(1);
    expect(
      h
        .logs()
        .split('\n')
        .filter((l) => l.includes('waiting for a CPU (node starved)')),
    ).toHaveLength(1);
    expect(h.logs()).toMatch(
      /"verdict":"starved"[^\n]*"starvedMs":600000[^\n]*stall watchdog restarts the camera/,
    );
    await waitFor('a new pipeline', () => h.r.pid() !== undefined && h.r.pid() !== h.pid, 20_000);
    expect(h.r.status().reason).toMatch(
      new RegExp(`^${Codes.GW_CAMERA_STALLED}: no frame for \\d+ s while the node was starved for 600 s`),
    );
  }, 60_000);
});
