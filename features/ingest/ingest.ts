import type { Registry } from 'prom-client';
import type { SecretRef } from '../../core/contracts/common-schema.js';
import type { CameraDirectory, CameraStatus, LiveViewTicket } from '../../core/contracts/camera-directory.js';
import type { EvidenceStore } from '../../core/contracts/evidence-store.js';
import type { FindingSink } from '../../core/contracts/finding.js';
import type { Frame } from '../../core/contracts/frame.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import {
  Codes,
  ClosedError,
  DependencyMissingError,
  GridwatchError,
  NotFoundError,
} from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { which } from '../../core/util/which.js';
import { createCameraRunner, type CameraRunner } from './camera-runner.js';
import { createDecodeBudget } from './decode-budget.js';
import { procSchedReader, type SchedReader } from './starvation.js';
import type { IngestConfig } from './ingest-config.js';
import { createIngestMetrics, p95 } from './ingest-metrics.js';
import { createLiveRelay } from './live-relay.js';
import { createSnapshotClient } from './snapshot-client.js';

export interface IngestOptions {
  config: IngestConfig;
  /** IANA zone for rule schedule windows (gateway `timezone`). */
  timeZone: string;
  logger: Logger;
  metrics: Registry;
  /** Size of Frame.rgb (the detectors' input). */
  frameSize: { width: number; height: number };
  findingSink: FindingSink;
  evidence: EvidenceStore;
  resolveSecret: (ref: SecretRef, baseDir: string) => string;
  /** Scheduler counters of a process for the stall watchdog (default: this machine's /proc; tests inject readings). */
  readSched?: SchedReader;
}

export interface Ingest {
  directory: CameraDirectory;
  /** Full camera list (boot and each hot reload): starts new, stops removed/disabled, restarts changed. */
  update(cameras: LoadedCamera[]): void;
  onFrame(cb: (f: Frame, cam: LoadedCamera) => void): () => void;
  /** Frames of one camera as an async stream (bounded: slow consumers lose the oldest). */
  frames(cameraId: string, opts?: { signal?: AbortSignal; buffer?: number }): AsyncIterable<Frame>;
  /** The next frame of a camera, or GW_TIMEOUT. */
  grabFrame(cameraId: string, timeoutMs: number): Promise<Frame>;
  /** Media server origin for a same-origin proxy (null until the first live view). */
  liveOrigin(): string | null;
  /** Test and health hook: pid of a camera's ffmpeg sampler. */
  samplerPid(cameraId: string): number | undefined;
  stats(): {
    ffmpeg: number;
    decodeRate: number;
    waiting: number;
    samplesPerSec: number;
    lagP95Ms: number | null;
    /** Decodes/s asked for at configured intervals, granted after stretching, and cameras stretched. */
    decodeDemand: number;
    decodeGranted: number;
    stretched: number;
  };
  close(): Promise<void>;
}

/** Fields whose change means the running pipeline must restart (everything that reaches ffmpeg or scheduling). */
function pipelineKey(c: LoadedCamera): string {
  return JSON.stringify([
    c.enabled,
    c.source,
    c.credentials,
    c.samplingIntervalSec,
    c.mode,
    c.baseDir,
    c.detectors.map((d) => d.rule),
    c.schedules,
  ]);
}

/**
 * Camera ingest for the gateway: one supervised runner per enabled camera, a per-node decode
 * budget with staggered starts, keyframe-only ffmpeg samplers, camera_offline findings and
 * on-demand live view.
 */
export function createIngest(opts: IngestOptions): Ingest {
  const log = opts.logger.child({ component: 'ingest' });
  const ffmpegPath = which('ffmpeg');
  if (!ffmpegPath) throw new DependencyMissingError('ffmpeg', 'ffmpeg');
  const metrics = createIngestMetrics(opts.metrics);
  const readSched = opts.readSched ?? procSchedReader();
  const budget = createDecodeBudget({
    maxFfmpeg: opts.config.maxFfmpeg,
    maxDecodesPerSec: opts.config.maxDecodesPerSec,
    staggerMs: opts.config.startStaggerMs,
  });
  const snapshots = createSnapshotClient({
    maxConcurrent: opts.config.snapshotConcurrency,
    maxSocketsPerHost: opts.config.snapshotSocketsPerHost,
    decodePath: opts.config.snapshotDecode,
    ...(opts.config.snapshotDecodeConcurrency > 0
      ? { decodeConcurrency: opts.config.snapshotDecodeConcurrency }
      : {}),
  });
  const live = createLiveRelay({
    config: opts.config.liveView,
    logger: log,
    metrics,
    ffmpegPath,
    registry: opts.metrics,
  });
  const runners = new Map<string, { runner: CameraRunner; key: string; cam: LoadedCamera }>();
  const frameListeners = new Set<(f: Frame, cam: LoadedCamera) => void>();
  const stateListeners = new Set<(s: CameraStatus) => void>();
  const stopping = new Set<Promise<void>>();
  const recentSamples: number[] = [];
  let closed = false;

  function emitFrame(cam: LoadedCamera, f: Frame): void {
    recentSamples.push(Date.now());
    for (const cb of frameListeners) {
      try {
        cb(f, cam);
      } catch (e) {
        log.error({ err: e, camera: cam.id }, 'frame listener threw');
      }
    }
  }

  function emitStatus(s: CameraStatus): void {
    for (const cb of stateListeners) {
      try {
        cb(s);
      } catch (e) {
        log.error({ err: e, camera: s.id }, 'state listener threw');
      }
    }
  }

  async function raiseOffline(
    cam: LoadedCamera,
    s: CameraStatus,
    episodeStart: number,
    lastJpeg: Uint8Array | null,
  ): Promise<void> {
    const now = Date.now();
    let evidence: string | null = null;
    if (lastJpeg) {
      try {
        evidence = await opts.evidence.put(`${cam.id}-offline-${episodeStart}`, lastJpeg, now);
      } catch (e) {
        log.warn({ err: e, camera: cam.id }, 'could not store the last frame as offline evidence');
      }
    }
    await opts.findingSink.submit({
      id: `camera_offline:${cam.id}:${episodeStart}`,
      cameraId: cam.id,
      type: 'camera_offline',
      zoneId: null,
      score: 1,
      trackIds: [],
      boxes: [],
      firstSeen: episodeStart,
      lastSeen: now,
      evidence: { first: evidence, latest: evidence },
      detector: { plugin: 'ingest', version: '1.0.0' },
      details: {
        reason: s.reason,
        state: s.state,
        offlineSec: Math.round((now - episodeStart) / 1000),
        lastFrameAt: s.lastFrameAt,
      },
    });
    log.warn({ camera: cam.id, reason: s.reason }, 'camera_offline finding raised');
  }

  function startRunner(cam: LoadedCamera, delayMs: number): CameraRunner {
    return createCameraRunner({
      cam,
      config: opts.config,
      timeZone: opts.timeZone,
      frameSize: opts.frameSize,
      logger: log,
      metrics,
      budget,
      snapshots,
      resolveSecret: opts.resolveSecret,
      ffmpegPath: ffmpegPath!,
      readSched,
      startDelayMs: delayMs,
      emitFrame: (f) => emitFrame(runners.get(cam.id)?.cam ?? cam, f),
      emitStatus,
      raiseOffline: (s, start, jpeg) => {
        raiseOffline(cam, s, start, jpeg).catch((e: unknown) =>
          log.error({ err: e, camera: cam.id }, 'camera_offline finding could not be submitted'),
        );
      },
    });
  }

  function stopRunner(id: string): void {
    const entry = runners.get(id);
    if (!entry) return;
    runners.delete(id);
    const p = Promise.all([entry.runner.stop(), live.stopCamera(id)]).then(
      () => undefined,
      (e: unknown) => log.error({ err: e, camera: id }, 'camera did not stop cleanly'),
    );
    stopping.add(p);
    void p.finally(() => stopping.delete(p));
  }

  const ticker = setInterval(() => {
    const now = Date.now();
    for (const { runner } of runners.values()) runner.tick(now);
    while (recentSamples.length && recentSamples[0]! < now - 60_000) recentSamples.shift();
    const statuses = [...runners.values()].map((r) => r.runner.status());
    metrics.refresh(statuses, fleetLag(statuses), recentSamples.length / 60, budget.stats());
  }, 1_000);
  ticker.unref();

  function fleetLag(statuses: CameraStatus[]): number | null {
    return p95(statuses.map((s) => s.lagP95Ms).filter((v): v is number => v !== null));
  }

  function runnerOf(id: string): CameraRunner {
    const r = runners.get(id)?.runner;
    if (!r) throw new NotFoundError('camera', id);
    return r;
  }

  const directory: CameraDirectory = {
    list: () => [...runners.values()].map((r) => r.runner.status()),
    get: (id) => runners.get(id)?.runner.status(),
    lastFrame: (id) => runners.get(id)?.runner.lastJpeg() ?? null,
    onState(cb) {
      stateListeners.add(cb);
      return () => stateListeners.delete(cb);
    },
    async startLiveView(id): Promise<LiveViewTicket> {
      if (closed) throw new ClosedError('ingest');
      const r = runnerOf(id);
      if (r.cam.source.kind === 'snapshot') {
        throw new GridwatchError(
          Codes.GW_LIVE_UNSUPPORTED,
          `camera ${id} is a snapshot camera and has no live video`,
        );
      }
      if (!r.cam.enabled) throw new GridwatchError(Codes.GW_LIVE_UNSUPPORTED, `camera ${id} is disabled`);
      return live.start(id, () => r.liveSource());
    },
  };

  return {
    directory,
    update(cameras) {
      if (closed) throw new ClosedError('ingest');
      const seen = new Set<string>();
      let started = 0;
      for (const cam of cameras) {
        seen.add(cam.id);
        const key = pipelineKey(cam);
        const cur = runners.get(cam.id);
        if (cur && cur.key === key) {
          // Zones, names or tags changed only: the stream keeps running, frames carry the new entry.
          cur.cam = cam;
          continue;
        }
        if (cur) stopRunner(cam.id);
        // No delay here: the budget grants starts one per startStaggerMs, highest priority first.
        runners.set(cam.id, { runner: startRunner(cam, 0), key, cam });
        started++;
      }
      for (const id of [...runners.keys()]) if (!seen.has(id)) stopRunner(id);
      log.info({ cameras: cameras.length, started, running: runners.size }, 'camera list applied');
    },
    onFrame(cb) {
      frameListeners.add(cb);
      return () => frameListeners.delete(cb);
    },
    frames(cameraId, o = {}) {
      const max = o.buffer ?? 4;
      return {
        [Symbol.asyncIterator]() {
          const queue: Frame[] = [];
          let wake: (() => void) | null = null;
          let done = false;
          const off = (() => {
            const cb = (f: Frame) => {
              if (f.cameraId !== cameraId) return;
              queue.push(f);
              if (queue.length > max) queue.shift();
              wake?.();
            };
            frameListeners.add(cb);
            return () => frameListeners.delete(cb);
          })();
          const finish = () => {
            done = true;
            off();
            wake?.();
          };
          o.signal?.addEventListener('abort', finish, { once: true });
          return {
            async next(): Promise<IteratorResult<Frame>> {
              while (!queue.length && !done && !closed) await new Promise<void>((r) => (wake = r));
              wake = null;
              const f = queue.shift();
              if (f) return { value: f, done: false };
              finish();
              return { value: undefined, done: true };
            },
            async return(): Promise<IteratorResult<Frame>> {
              finish();
              return { value: undefined, done: true };
            },
          };
        },
      };
    },
    grabFrame(cameraId, timeoutMs) {
      if (closed) return Promise.reject(new ClosedError('ingest'));
      runnerOf(cameraId);
      return new Promise<Frame>((resolve, reject) => {
        const t = setTimeout(() => {
          frameListeners.delete(cb);
          reject(
            new GridwatchError(
              Codes.GW_TIMEOUT,
              `camera ${cameraId} gave no frame within ${timeoutMs} ms`,
              {},
            ),
          );
        }, timeoutMs);
        const cb = (f: Frame) => {
          if (f.cameraId !== cameraId) return;
          clearTimeout(t);
          frameListeners.delete(cb);
          resolve(f);
        };
        frameListeners.add(cb);
      });
    },
    liveOrigin: () => live.origin(),
    samplerPid: (id) => runners.get(id)?.runner.pid(),
    stats() {
      const b = budget.stats();
      const statuses = [...runners.values()].map((r) => r.runner.status());
      const now = Date.now();
      return {
        ffmpeg: b.ffmpeg,
        decodeRate: b.rate,
        waiting: b.waiting,
        samplesPerSec: recentSamples.filter((t) => t >= now - 60_000).length / 60,
        lagP95Ms: fleetLag(statuses),
        decodeDemand: b.demand,
        decodeGranted: b.granted,
        stretched: b.stretched,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(ticker);
      for (const id of [...runners.keys()]) stopRunner(id);
      budget.close();
      await Promise.all([...stopping]);
      await snapshots.close();
      await live.close();
      frameListeners.clear();
      stateListeners.clear();
    },
  };
}
