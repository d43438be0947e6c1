import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { SecretRef } from '../../core/contracts/common-schema.js';
import { isScheduleActive } from '../../core/config/schedule.js';
import type { CameraStatus } from '../../core/contracts/camera-directory.js';
import type { Frame } from '../../core/contracts/frame.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import { Codes } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { redactText } from '../../core/util/redact.js';
import { initialSnapshot, offlineFindingDue, transition, type CameraEvent } from './camera-state-machine.js';
import { classifyFfmpegExit, type Failure } from './classify-failure.js';
import type { DecodeBudget, DecodeShare, Lease } from './decode-budget.js';
import { runSampler, type RawSample, type SamplerProcess } from './ffmpeg-sampler.js';
import { createGopTracker } from './gop-tracker.js';
import type { IngestConfig } from './ingest-config.js';
import { p95, type IngestMetrics } from './ingest-metrics.js';
import { chooseMode, type ModeChoice } from './mode-choice.js';
import { createSlotClock } from './slot-clock.js';
import { SnapshotFailure, type SnapshotClient } from './snapshot-client.js';
import { createSourceResolver, SourceFailure, type StreamInput } from './source-resolver.js';
import { unitHash } from '../../core/util/string-hash.js';
import {
  createStarvationCheck,
  STARVATION_MAX_HOLD_MS,
  STARVATION_WINDOW_MS,
  type SchedReader,
} from './starvation.js';

export type FleetMode = 'persistent' | 'burst' | 'snapshot';

export interface RunnerDeps {
  cam: LoadedCamera;
  config: IngestConfig;
  timeZone: string;
  frameSize: { width: number; height: number };
  logger: Logger;
  metrics: IngestMetrics;
  budget: DecodeBudget;
  /** The node's HTTP snapshot client (keep-alive, concurrency limit, digest nonce reuse). */
  snapshots: SnapshotClient;
  resolveSecret: (ref: SecretRef, baseDir: string) => string;
  ffmpegPath: string;
  /** Reads a process's scheduler counters (starvation.ts; procSchedReader() outside tests). */
  readSched: SchedReader;
  /** Delay before the first connect (boot stagger is also enforced by the budget). */
  startDelayMs: number;
  emitFrame(frame: Frame): void;
  emitStatus(status: CameraStatus): void;
  /** Called once per offline episode when it has lasted `offlineAfterSec`. */
  raiseOffline(status: CameraStatus, episodeStart: number, lastJpeg: Uint8Array | null): void;
}

/** What the live-view relay needs to pull the camera; carries credentials: never log it. */
export interface LiveSource extends StreamInput {
  secrets: string[];
}

export interface CameraRunner {
  readonly id: string;
  readonly cam: LoadedCamera;
  status(): CameraStatus;
  lastJpeg(): Uint8Array | null;
  /** Called every second by ingest: stall watchdog and offline findings. */
  tick(now: number): void;
  liveSource(): Promise<LiveSource>;
  /** pid of the running ffmpeg sampler, if any (tests kill it). */
  pid(): number | undefined;
  /** The fleet mode actually used. */
  mode(): FleetMode;
  /** The sampling mode now, with its reason. */
  choice(): ModeChoice;
  /** keyframes: only keyframes are decoded; full: every frame (keyframes too far apart). */
  decodeMode(): 'keyframes' | 'full';
  stop(): Promise<void>;
}

class Stopped extends Error {}

/** Why the runner itself ended a running pipeline. */
type Restart =
  | { kind: 'stall'; message: string }
  | { kind: 'resize' }
  | { kind: 'decode_mode'; to: 'keyframes' | 'full' | 'pair' | 'single' }
  | { kind: 'rerate'; stretch: number };

const execFileP = promisify(execFile);
/** Frame rate charged for a full decoder until ffmpeg has reported the stream's own. */
const ASSUMED_FPS = 25;

/** The fleet mode of a camera: configured, or chosen by cost for its interval (mode-choice.ts). */
export function defaultMode(cam: LoadedCamera, pipeline: 'auto' | 'pair' | 'single' = 'auto'): FleetMode {
  if (cam.mode) return cam.mode;
  const m = chooseMode({ cam, gopSec: null, fullDecode: false, pipeline }).mode;
  return m === 'burst' || m === 'snapshot' ? m : 'persistent';
}

/**
 * One camera's supervisor: connects (within the node budget), samples, classifies failures,
 * reconnects with exponential backoff and full jitter, restarts stalled pipelines, switches
 * between keyframe-only and full decoding on measured keyframe spacing, and raises one
 * camera_offline finding per offline episode. The state is the pure machine of
 * camera-state-machine.ts; sources come from source-resolver.ts, timing from slot-clock.ts.
 */
export function createCameraRunner(d: RunnerDeps): CameraRunner {
  const cam = d.cam;
  const log = d.logger.child({ camera: cam.id });
  const mode = defaultMode(cam, d.config.persistentPipeline);
  const abort = new AbortController();
  const source = createSourceResolver({ cam, mode, resolveSecret: d.resolveSecret, logger: log });
  const gop = createGopTracker(cam.samplingIntervalSec);

  let snap = initialSnapshot(cam.enabled, Date.now());
  const stats = { lastFrameAt: null as number | null, framesSampled: 0, restarts: 0 };
  const lags: number[] = [];
  let last: Uint8Array | null = null;
  let attempt = 0;
  let sourceSize: string | null = null;
  let loopDone: Promise<void> = Promise.resolve();
  // The running pipeline.
  let proc: SamplerProcess | null = null;
  let procStartedAt = 0;
  let procFrames = 0;
  let restart: Restart | null = null;
  // Decoding mode: full when keyframes were measured further apart than the interval.
  let fullDecode = false;
  let gopProbed = false;
  let decodeFps = ASSUMED_FPS;
  /** Stalls since the last run that gave two frames: gives a very long GOP room to show itself. */
  let stallsInRow = 0;
  /** Tells a starved node from a stalled camera when the stall limit is reached. */
  const starvation = createStarvationCheck({ read: d.readSched });
  /** Start of the current episode of no frames while the pipeline waited for a CPU. */
  let starvedSince: number | null = null;
  /** Keyframe spacing measured on this camera (file probe, or every keyframe in single mode). */
  let gopSec: number | null = null;
  const choose = (): ModeChoice =>
    mode === 'persistent'
      ? chooseMode({ cam, gopSec, fullDecode, pipeline: d.config.persistentPipeline })
      : chooseMode({ cam, gopSec, fullDecode: false, pipeline: d.config.persistentPipeline });
  let choice = choose();
  // Every camera claims its decode rate for as long as it runs; the budget answers with a stretch
  // factor on the interval when the node's cameras together ask for more than it allows.
  let currentPriority = cam.enabled ? priority() : 0;
  const share: DecodeShare | null = cam.enabled
    ? d.budget.share({ cameraId: cam.id, rate: 1 / cam.samplingIntervalSec, priority: currentPriority })
    : null;
  /** The stretch the running persistent pipeline was started with. */
  let runningStretch = 1;
  const stretch = () => share?.stretch() ?? 1;
  const effectiveIntervalSec = () => cam.samplingIntervalSec * stretch();
  let intervalMs = cam.samplingIntervalSec * 1000;

  const status = (): CameraStatus => ({
    id: cam.id,
    name: cam.name,
    ...(cam.deviceId ? { deviceId: cam.deviceId } : {}),
    gridCode: cam.gridCode ?? null,
    sourceKind: cam.source.kind,
    state: snap.state,
    reason: snap.reason,
    since: snap.since,
    lastFrameAt: stats.lastFrameAt,
    framesSampled: stats.framesSampled,
    restarts: stats.restarts,
    lagP95Ms: p95(lags),
    location: cam.wgs84,
    ingest: {
      mode: choice.mode,
      modeReason: choice.reason,
      intervalSec: cam.samplingIntervalSec,
      effectiveIntervalSec:
        mode === 'persistent' ? cam.samplingIntervalSec * runningStretch : effectiveIntervalSec(),
    },
  });

  const secrets = () => source.secrets() as string[];

  /** `quiet`: publish the status without a log line (the caller logs once per episode). */
  function emit(e: CameraEvent, quiet = false): void {
    const prev = snap;
    snap = transition(snap, e, Date.now());
    if (snap.state === prev.state && snap.reason === prev.reason) return;
    if (!quiet)
      log[snap.state === 'online' || snap.state === 'connecting' ? 'info' : 'warn'](
        { from: prev.state, to: snap.state, reason: snap.reason },
        'camera state',
      );
    d.emitStatus(status());
  }

  const fail = (f: Failure) => emit({ type: f.state, code: f.code, message: f.message });

  function backoffMs(f: Failure): number {
    const { initialMs, maxMs } = d.config.backoff;
    if (f.state === 'misconfigured') return maxMs / 2 + Math.random() * (maxMs / 2);
    const cap = Math.min(maxMs, initialMs * 2 ** attempt);
    attempt++;
    // Full jitter: cameras that dropped together (a switch reboot) do not return together.
    return Math.max(initialMs / 4, Math.random() * cap);
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (abort.signal.aborted) return reject(new Stopped());
      const onAbort = () => (clearTimeout(t), reject(new Stopped()));
      const t = setTimeout(() => (abort.signal.removeEventListener('abort', onAbort), resolve()), ms);
      abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  function priority(): number {
    const now = Date.now();
    if (!cam.detectors.length) return 0;
    return cam.detectors.some((u) => isScheduleActive(cam.schedules[u.rule], now, d.timeZone)) ? 1 : 0;
  }

  function endPipeline(why: Restart): void {
    const p = proc as SamplerProcess | null;
    if (!p || restart) return;
    restart = why;
    void p.stop();
  }

  function accept(
    s: RawSample,
    scheduledAt: number,
    lag: number,
    capturedAt: number,
    seq: number,
    videoTimeSec?: number,
  ): void {
    lags.push(lag);
    if (lags.length > 50) lags.shift();
    d.metrics.lag.observe(lag / 1000);
    d.metrics.samples.inc({ camera: cam.id });
    stats.framesSampled++;
    stats.lastFrameAt = s.arrivedAt;
    last = s.jpeg;
    attempt = 0;
    source.noteSuccess();
    starvation.reset();
    if (starvedSince !== null) {
      log.info({ starvedMs: s.arrivedAt - starvedSince }, 'frames again after the node was starved');
      starvedSince = null;
    }
    const size = `${s.sourceWidth}x${s.sourceHeight}`;
    const recent = p95(lags.slice(-10)) ?? 0;
    if (sourceSize !== null && sourceSize !== size) {
      emit({
        type: 'resized',
        message: `the stream changed from ${sourceSize} to ${size}; detector zones are normalised, check their placement`,
      });
      log.warn({ from: sourceSize, to: size }, 'camera resolution changed');
      // ffmpeg keeps its encoders at the first size and would stretch the evidence JPEG: restart
      // the pipeline so evidence comes at the new size. (A file restarts from its beginning, so a
      // looping demo clip keeps its first encoder size.)
      if (mode === 'persistent' && cam.source.kind !== 'file') endPipeline({ kind: 'resize' });
    } else if (lags.length >= 5 && recent > Math.max(2_000, intervalMs)) {
      // One late sample is noise (a busy core); most of the recent ones late is a real backlog.
      emit({
        type: 'lagging',
        message: `recent samples arrive ${(recent / 1000).toFixed(1)} s after they were due (p95)`,
      });
    } else if (intervalMs > cam.samplingIntervalSec * 1000 + 1) {
      emit({
        type: 'stretched',
        message: `the node's decode budget is full: sampled every ${(intervalMs / 1000).toFixed(1)} s instead of ${cam.samplingIntervalSec} s${currentPriority > 0 ? '' : ' (no rule in its schedule window, stretched first)'}`,
      });
    } else {
      emit({ type: 'frame' });
    }
    sourceSize = size;
    d.emitFrame({
      cameraId: cam.id,
      seq,
      capturedAt,
      ...(videoTimeSec !== undefined ? { videoTimeSec } : {}),
      scheduledAt,
      width: d.frameSize.width,
      height: d.frameSize.height,
      rgb: s.rgb,
      jpeg: s.jpeg,
      jpegWidth: s.jpegWidth,
      jpegHeight: s.jpegHeight,
    });
  }

  function switchDecoding(to: 'keyframes' | 'full', why: string): void {
    fullDecode = to === 'full';
    gop.reset();
    // Full decoding is charged its real frame rate, keyframes the interval's.
    share?.update({ rate: fullDecode ? decodeFps : 1 / cam.samplingIntervalSec });
    log[to === 'full' ? 'warn' : 'info']({ decode: to }, why);
    endPipeline({ kind: 'decode_mode', to });
  }

  type Outcome = { failure: Failure } | { restart: Restart } | { done: true };

  /** Runs ffmpeg until it exits. */
  function runPipeline(src: StreamInput, once: boolean, scheduledAt: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let seq = 0;
      let fileClock: number | null = null;
      // A persistent pipeline runs at the stretch it started with; tick() restarts it on a change.
      runningStretch = once ? 1 : stretch();
      const intervalSec = once ? cam.samplingIntervalSec : cam.samplingIntervalSec * runningStretch;
      if (!once) intervalMs = intervalSec * 1000;
      choice = choose();
      const clock = createSlotClock(intervalSec);
      procFrames = 0;
      restart = null;
      procStartedAt = Date.now();
      starvation.reset();
      starvedSince = null;
      gop.newRun();
      d.metrics.ffmpegProcesses.inc();
      proc = runSampler(
        {
          input: src.input,
          kind: src.kind,
          transport: src.transport,
          intervalSec,
          width: d.frameSize.width,
          height: d.frameSize.height,
          once,
          fullDecode,
          pipeline: choice.mode === 'single' ? 'single' : 'pair',
        },
        {
          onFrameRate(fps) {
            decodeFps = fps;
          },
          onKeyframe(pts) {
            gop.keyframe(pts);
            if (fullDecode && gop.keyframesDenseEnough())
              switchDecoding(
                'keyframes',
                'keyframes are within the sampling interval again: keyframe-only decoding',
              );
            else if (!fullDecode && gopSec === null && gop.keyframeSpacingSec() !== null) {
              // Single mode sees every keyframe: with the GOP measured, the cost model may prefer the pair.
              gopSec = gop.keyframeSpacingSec();
              const next = choose();
              log.info({ gopSec, mode: next.mode }, 'keyframe spacing measured');
              if (next.mode !== choice.mode && (next.mode === 'pair' || next.mode === 'single'))
                endPipeline({ kind: 'decode_mode', to: next.mode });
              else choice = next;
            }
          },
          onSample(s) {
            procFrames++;
            if (once) return accept(s, scheduledAt, Math.max(0, s.arrivedAt - scheduledAt), s.arrivedAt, 0);
            if (procFrames >= 2) stallsInRow = 0;
            const t = clock.observe(s.ptsSec, s.arrivedAt);
            d.metrics.frameTiming.inc({ timing: t.kind });
            if (t.kind !== 'duplicate') {
              d.metrics.deliveryDelay.observe(t.deliveryMs / 1000);
              d.metrics.keyframeWait.observe(t.keyframeWaitMs / 1000);
            }
            if (!fullDecode) {
              gop.sample(s.ptsSec);
              if (gop.keyframesTooSparse()) {
                switchDecoding(
                  'full',
                  `keyframes measured ${gop.longestSampleGapSec().toFixed(1)} s apart, more than the ${cam.samplingIntervalSec} s interval: decoding every frame`,
                );
              }
            }
            // A file's capture time follows its own clock from the first frame (steady, monotonic).
            fileClock ??= s.arrivedAt - s.ptsSec * 1000;
            const capturedAt = src.kind === 'file' ? Math.round(fileClock + s.ptsSec * 1000) : s.arrivedAt;
            // A duplicate (second frame in a served slot) is delivered but its lag is meaningless.
            accept(
              s,
              t.scheduledAt,
              t.kind === 'duplicate' ? 0 : t.lagMs,
              capturedAt,
              seq++,
              src.kind === 'file' ? s.ptsSec : undefined,
            );
          },
          onExit(info) {
            proc = null;
            d.metrics.ffmpegProcesses.dec();
            const stderr = redactText(info.stderrTail, secrets());
            if (restart) {
              resolve({ restart });
              return;
            }
            if (once && info.frames > 0) {
              resolve({ done: true });
              return;
            }
            const f = classifyFfmpegExit({
              code: info.code,
              signal: info.signal,
              stderr,
              frames: info.frames,
            });
            log.debug({ code: info.code, signal: info.signal, stderr: stderr.slice(-800) }, 'ffmpeg exited');
            resolve({ failure: f });
          },
        },
        d.ffmpegPath,
      );
    });
  }

  async function persistentLoop(): Promise<void> {
    for (;;) {
      let lease: Lease | null = null;
      let f: Failure | null = null;
      let reason: string = 'decode_mode';
      try {
        const src = await source.streamInput();
        if (src.kind === 'file' && !fullDecode && !gopProbed) {
          gopProbed = true;
          const gap = await maxKeyframeGapSec(src.input, log);
          if (gap !== null) gopSec = gap;
          if (gap !== null && gap > cam.samplingIntervalSec) {
            fullDecode = true;
            log.warn(
              { keyframeGapSec: gap, intervalSec: cam.samplingIntervalSec },
              'file keyframes are further apart than the sampling interval: decoding every frame',
            );
          }
        }
        // The process slot; the decode rate is the camera's share (charged its real rate).
        lease = await d.budget.acquire(
          { cameraId: cam.id, ffmpeg: true, rate: 0, priority: priority() },
          abort.signal,
        );
        if (abort.signal.aborted) throw new Stopped();
        const out = await runPipeline(src, false, Date.now());
        source.noteFailure();
        if ('restart' in out) {
          if (out.restart.kind === 'stall')
            f = { state: 'offline', code: Codes.GW_CAMERA_STALLED, message: out.restart.message };
          else if (out.restart.kind === 'resize') reason = Codes.GW_CAMERA_RESOLUTION_CHANGED;
          else if (out.restart.kind === 'rerate') reason = 'rerate';
        } else if ('failure' in out) f = out.failure;
        else f = { state: 'offline', code: Codes.GW_CAMERA_STREAM_ENDED, message: 'the stream ended' };
      } catch (e) {
        if (e instanceof Stopped || abort.signal.aborted) throw new Stopped();
        if (!(e instanceof SourceFailure)) throw e;
        f = e.failure;
      } finally {
        lease?.release();
      }
      if (abort.signal.aborted) throw new Stopped();
      // The status counts failures and resizes; a chosen switch (decoding mode, pipeline, a
      // re-rate by the budget) is in the metric under its own reason only.
      if (f || reason === Codes.GW_CAMERA_RESOLUTION_CHANGED) stats.restarts++;
      d.metrics.restarts.inc({ camera: cam.id, reason: f?.code ?? reason });
      // A resize stays degraded with its reason; a decoding switch is not a failure.
      if (!f) continue;
      fail(f);
      const stalled = f.code === Codes.GW_CAMERA_STALLED;
      const wait = procFrames > 0 && !stalled ? d.config.backoff.initialMs * Math.random() : backoffMs(f);
      if (procFrames > 0) attempt = 0;
      await sleep(wait);
    }
  }

  async function periodicLoop(): Promise<void> {
    // Each camera samples at its own phase of the interval (from its id, so stable across
    // restarts): 1,000 snapshot cameras started together would otherwise all ask in the same
    // second of every interval and the last of them would always be late.
    let next = Date.now() + unitHash(cam.id) * Math.min(effectiveIntervalSec() * 1000, 60_000);
    for (;;) {
      const now = Date.now();
      if (next > now) await sleep(next - now);
      const scheduledAt = next;
      intervalMs = effectiveIntervalSec() * 1000;
      next = Math.max(next + intervalMs, Date.now());
      let failure: Failure | null = null;
      try {
        if (mode === 'burst') {
          const src = await source.streamInput();
          const lease = await d.budget.acquire(
            { cameraId: cam.id, ffmpeg: true, rate: 0, priority: priority() },
            abort.signal,
          );
          try {
            const r = await runPipeline(src, true, scheduledAt);
            if (procFrames === 0 && 'failure' in r) failure = r.failure;
          } finally {
            lease.release();
          }
        } else {
          const url = await source.snapshotUrl();
          await d.budget.takeDecode(abort.signal);
          const c = source.credentials();
          const s = await d.snapshots.fetch(
            {
              url,
              auth:
                cam.source.kind === 'snapshot'
                  ? cam.source.auth
                  : c.username !== undefined
                    ? 'digest'
                    : 'none',
              ...c,
              timeoutMs: Math.min(10_000, Math.max(2_000, intervalMs)),
              ...d.frameSize,
            },
            abort.signal,
          );
          accept(s, scheduledAt, Math.max(0, s.arrivedAt - scheduledAt), s.arrivedAt, stats.framesSampled);
        }
      } catch (e) {
        if (e instanceof Stopped || abort.signal.aborted) throw new Stopped();
        if (e instanceof SourceFailure) failure = e.failure;
        else if (e instanceof SnapshotFailure)
          failure = { ...e.failure, message: redactText(e.failure.message, secrets()) };
        else throw e;
      }
      if (failure) {
        source.noteFailure();
        stats.restarts++;
        d.metrics.restarts.inc({ camera: cam.id, reason: failure.code });
        fail(failure);
        next = Math.max(next, Date.now() + backoffMs(failure));
      }
    }
  }

  async function main(): Promise<void> {
    try {
      if (d.startDelayMs > 0) await sleep(d.startDelayMs);
      if (mode === 'burst' && cam.source.kind === 'file') {
        fail({
          state: 'misconfigured',
          code: Codes.GW_CAMERA_MODE_UNSUPPORTED,
          message: 'mode burst needs a network stream; a file source plays persistently',
        });
        return;
      }
      if (mode === 'persistent') await persistentLoop();
      else await periodicLoop();
    } catch (e) {
      if (e instanceof Stopped) return;
      log.error({ err: e }, 'camera runner crashed');
      emit({
        type: 'offline',
        code: Codes.GW_CAMERA_INTERNAL,
        message: redactText(e instanceof Error ? e.message : String(e), secrets()),
      });
    }
  }

  /** Stall watchdog limit: a stall is not a GOP problem, so it only restarts, with more room each time in a row. */
  function stallLimitMs(): number {
    const base = Math.max(d.config.stallIntervals * intervalMs, 15_000);
    const room = Math.max(base * 2 ** Math.min(stallsInRow, 3), 2 * gop.longestSampleGapSec() * 1000);
    // The first frame also waits for connect, probe and a keyframe: give it longer.
    return procFrames > 0 ? room : room + 10_000;
  }

  /**
   * The stall watchdog. At the stall limit it asks starvation.ts whether the pipeline's processes
   * spent the last window waiting for a CPU: if so the node is overloaded, and a restart (two
   * ffmpeg starts, about 0.2 s of CPU) would only feed it, so the camera stays up as degraded
   * GW_CAMERA_STARVED and is judged again every window; otherwise (idle, or no reading) it is
   * restarted as a stall.
   */
  function watchdog(p: SamplerProcess, now: number): void {
    const ref = procFrames > 0 && stats.lastFrameAt !== null ? stats.lastFrameAt : procStartedAt;
    const limit = stallLimitMs();
    const silent = now - ref;
    // The baseline: one window before the limit, so the first judgement covers a whole window.
    if (silent > limit - STARVATION_WINDOW_MS) starvation.mark(p.pids, now);
    if (silent <= limit) return;
    const markedAt = starvation.markedAt();
    // A baseline taken late (ticks delayed by a blocked event loop) waits for half a window.
    const minAge = starvedSince === null ? STARVATION_WINDOW_MS / 2 : STARVATION_WINDOW_MS;
    if (markedAt !== null && now - markedAt < minAge) return;
    const v = starvation.judge(p.pids, now);
    d.metrics.stallChecks.inc({ verdict: v.kind });
    const figures =
      v.kind === 'unknown'
        ? { verdict: v.kind, why: v.why }
        : {
            verdict: v.kind,
            waitMs: Math.round(v.waitMs),
            cpuMs: Math.round(v.cpuMs),
            windowMs: v.windowMs,
          };
    const heldMs = starvedSince === null ? 0 : now - starvedSince;
    if (v.kind === 'starved' && heldMs < STARVATION_MAX_HOLD_MS) {
      if (starvedSince === null) {
        starvedSince = now;
        d.metrics.starvedEpisodes.inc({ camera: cam.id });
        log.warn(
          { sinceMs: silent, limitMs: limit, ...figures },
          "stall watchdog: the camera's ffmpeg is waiting for a CPU (node starved): not restarting",
        );
      }
      // Published on every judgement (the wall sees how long), logged once per episode (above).
      emit(
        {
          type: 'starved',
          message: `no frame for ${Math.round(silent / 1000)} s, but its ffmpeg waited for a CPU ${Math.round(v.waitShare * 100)} % of the last ${Math.round(v.windowMs / 1000)} s: the node is overloaded; not restarted`,
        },
        true,
      );
      return;
    }
    stallsInRow++;
    log.warn(
      { sinceMs: silent, limitMs: limit, ...figures, ...(heldMs ? { starvedMs: heldMs } : {}) },
      'stall watchdog restarts the camera',
    );
    endPipeline({
      kind: 'stall',
      message:
        v.kind === 'starved'
          ? `no frame for ${Math.round(silent / 1000)} s while the node was starved for ${Math.round(heldMs / 1000)} s; restarting the stream`
          : `no frame for ${Math.round(silent / 1000)} s; restarting the stream`,
    });
  }

  if (cam.enabled) loopDone = main();
  else d.emitStatus(status());

  return {
    id: cam.id,
    cam,
    status,
    lastJpeg: () => last,
    pid: () => (proc as SamplerProcess | null)?.pid,
    mode: () => mode,
    choice: () => choice,
    decodeMode: () => (fullDecode ? 'full' : 'keyframes'),
    tick(now) {
      // Schedules open and close: the share's priority follows them (checked every 10 s).
      if (share && now % 10_000 < 1_000) {
        const p = priority();
        if (p !== currentPriority) share.update({ priority: (currentPriority = p) });
      }
      if (proc && mode === 'persistent' && !restart && stretch() !== runningStretch) {
        log.info({ from: runningStretch, to: stretch() }, 'decode budget changed the interval: restarting');
        endPipeline({ kind: 'rerate', stretch: stretch() });
      }
      if (proc && mode === 'persistent' && !restart) watchdog(proc, now);
      if (offlineFindingDue(snap, now, d.config.offlineAfterSec * 1000)) {
        snap = transition(snap, { type: 'offline_reported' }, now);
        d.raiseOffline(status(), snap.downSince!, last);
      }
    },
    async liveSource() {
      const src = await source.streamInput();
      return { ...src, secrets: [...source.secrets()] };
    },
    async stop() {
      if (abort.signal.aborted) return loopDone;
      abort.abort();
      share?.release();
      const p = proc as SamplerProcess | null;
      if (p) await p.stop();
      await loopDone;
    },
  };
}

/** Largest keyframe gap in the first 60 s of a file (packet flags only, no decoding). */
async function maxKeyframeGapSec(path: string, log: Logger): Promise<number | null> {
  try {
    const { stdout } = await execFileP(
      'ffprobe',
      [
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-read_intervals',
        '%+60',
        '-show_entries',
        'packet=pts_time,flags',
        '-of',
        'csv=p=0',
        path,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const rows = stdout.split('\n');
    const keys = rows
      .filter((l) => /,K/.test(l))
      .map((l) => Number(l.split(',')[0]))
      .filter((t) => Number.isFinite(t));
    const all = rows.map((l) => Number(l.split(',')[0])).filter((t) => Number.isFinite(t));
    if (!keys.length) return null;
    const gaps = keys.slice(1).map((t, i) => t - keys[i]!);
    // A single keyframe in the probed span: the gap is at least the span itself.
    const span = all.length ? Math.max(...all) - keys[0]! : 0;
    return gaps.length ? Math.max(...gaps) : span;
  } catch (e) {
    // The sampler itself will report an unreadable file with a proper reason.
    log.debug({ err: e }, 'keyframe probe failed');
    return null;
  }
}
