import { execFile } from 'node:child_process';
import { resolve as resolvePath, isAbsolute } from 'node:path';
import { promisify } from 'node:util';
import type { SecretRef } from '../../core/contracts/common-schema.js';
import { isScheduleActive } from '../../core/config/schedule.js';
import type { CameraState, CameraStatus } from '../../core/contracts/camera-directory.js';
import type { Frame } from '../../core/contracts/frame.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import { GridwatchError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { redactText } from '../../core/util/redact.js';
import { classifyFfmpegExit, type Failure } from './classify-failure.js';
import type { DecodeBudget, Lease } from './decode-budget.js';
import { runSampler, slotIndex, type RawSample, type SamplerProcess } from './ffmpeg-sampler.js';
import type { IngestConfig } from './ingest-config.js';
import { p95, type IngestMetrics } from './ingest-metrics.js';
import { OnvifFailure, resolveOnvif, withCredentials, type OnvifResolution } from './onvif-resolver.js';
import { fetchSnapshot, SnapshotFailure } from './snapshot-client.js';

export type FleetMode = 'persistent' | 'burst' | 'snapshot';

export interface RunnerDeps {
  cam: LoadedCamera;
  config: IngestConfig;
  timeZone: string;
  frameSize: { width: number; height: number };
  logger: Logger;
  metrics: IngestMetrics;
  budget: DecodeBudget;
  resolveSecret: (ref: SecretRef, baseDir: string) => string;
  ffmpegPath: string;
  /** Delay before the first connect (boot stagger is also enforced by the budget). */
  startDelayMs: number;
  emitFrame(frame: Frame): void;
  emitStatus(status: CameraStatus): void;
  /** Called once per offline episode when it has lasted `offlineAfterSec`. */
  raiseOffline(status: CameraStatus, episodeStart: number, lastJpeg: Uint8Array | null): void;
}

/** What the live-view relay needs to pull the camera; carries credentials: never log it. */
export interface LiveSource {
  input: string;
  kind: 'rtsp' | 'file';
  transport: 'tcp' | 'udp';
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
  /** The mode actually used. */
  mode(): FleetMode;
  stop(): Promise<void>;
}

class Stopped extends Error {}

const execFileP = promisify(execFile);

export function defaultMode(cam: LoadedCamera): FleetMode {
  if (cam.mode) return cam.mode;
  return cam.source.kind === 'snapshot' ? 'snapshot' : 'persistent';
}

/**
 * One camera's supervisor: connects (within the node budget), samples, classifies failures,
 * reconnects with exponential backoff and full jitter, restarts stalled pipelines and raises
 * one camera_offline finding per offline episode.
 */
export function createCameraRunner(d: RunnerDeps): CameraRunner {
  const cam = d.cam;
  const log = d.logger.child({ camera: cam.id });
  const intervalMs = cam.samplingIntervalSec * 1000;
  const mode = defaultMode(cam);
  const abort = new AbortController();
  const secrets: string[] = [];
  let state: CameraState = cam.enabled ? 'connecting' : 'disabled';
  let reason: string | null = null;
  let since = Date.now();
  let lastFrameAt: number | null = null;
  let framesSampled = 0;
  let restarts = 0;
  const lags: number[] = [];
  let last: Uint8Array | null = null;
  let downSince: number | null = null;
  let offlineRaised = false;
  let proc: SamplerProcess | null = null;
  let procStartedAt = 0;
  let procFrames = 0;
  let stallKill: string | null = null;
  let attempt = 0;
  let onvifCache: OnvifResolution | null = null;
  let onvifFailures = 0;
  let sourceSize: string | null = null;
  let degradedFrames = 0;
  let loopDone: Promise<void> = Promise.resolve();
  /** Set when keyframes come less often than samples are due: then every frame is decoded. */
  let fullDecode = false;
  let gopChecked = false;

  const status = (): CameraStatus => ({
    id: cam.id,
    name: cam.name,
    ...(cam.deviceId ? { deviceId: cam.deviceId } : {}),
    gridCode: cam.gridCode ?? null,
    sourceKind: cam.source.kind,
    state,
    reason,
    since,
    lastFrameAt,
    framesSampled,
    restarts,
    lagP95Ms: p95(lags),
  });

  function setState(next: CameraState, why: string | null): void {
    if (next === state && why === reason) return;
    const prev = state;
    state = next;
    reason = why;
    since = Date.now();
    if ((next === 'offline' || next === 'misconfigured') && downSince === null) downSince = since;
    if (next === 'online' || next === 'degraded') {
      downSince = null;
      offlineRaised = false;
    }
    log[next === 'online' || next === 'connecting' ? 'info' : 'warn'](
      { from: prev, to: next, reason: why },
      'camera state',
    );
    d.emitStatus(status());
  }

  const fail = (f: Failure) => setState(f.state, `${f.code}: ${f.message}`);

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

  function secret(ref: SecretRef | string | undefined): string | undefined {
    if (ref === undefined) return undefined;
    const v = typeof ref === 'string' ? ref : d.resolveSecret(ref, cam.baseDir);
    if (!secrets.includes(v)) secrets.push(v);
    return v;
  }

  function credentials(): { username?: string; password?: string } {
    if (!cam.credentials) return {};
    try {
      return { username: secret(cam.credentials.username)!, password: secret(cam.credentials.password)! };
    } catch (e) {
      const msg = e instanceof GridwatchError ? e.message : 'secret cannot be read';
      throw new SourceFailure({ state: 'misconfigured', code: 'secret_missing', message: msg });
    }
  }

  async function onvifResolution(): Promise<OnvifResolution> {
    if (cam.source.kind !== 'onvif') throw new Error('not onvif');
    // Devices renumber profiles and change ports after firmware updates: re-resolve after
    // repeated failures instead of trusting a cached URI forever.
    if (onvifCache && onvifFailures < 3) return onvifCache;
    const c = credentials();
    try {
      onvifCache = await resolveOnvif({
        host: cam.source.host,
        port: cam.source.port,
        ...c,
        ...(cam.source.profile ? { profile: cam.source.profile } : {}),
        timeoutMs: 10_000,
        logger: log,
      });
    } catch (e) {
      if (e instanceof OnvifFailure) throw new SourceFailure(e.failure);
      throw e;
    }
    onvifFailures = 0;
    log.info({ profile: onvifCache.profile, hasSnapshot: onvifCache.snapshotUri !== null }, 'onvif resolved');
    return onvifCache;
  }

  async function streamInput(): Promise<{ input: string; kind: 'rtsp' | 'file'; transport: 'tcp' | 'udp' }> {
    const s = cam.source;
    switch (s.kind) {
      case 'rtsp': {
        const c = credentials();
        return {
          input: withCredentials(s.url, c.username, c.password),
          kind: 'rtsp',
          transport: s.transport,
        };
      }
      case 'onvif': {
        const r = await onvifResolution();
        const c = credentials();
        return {
          input: withCredentials(r.streamUri, c.username, c.password),
          kind: 'rtsp',
          transport: s.transport,
        };
      }
      case 'file':
        return {
          input: isAbsolute(s.path) ? s.path : resolvePath(cam.baseDir, s.path),
          kind: 'file',
          transport: 'tcp',
        };
      case 'snapshot':
        throw new SourceFailure({
          state: 'misconfigured',
          code: 'mode_unsupported',
          message: `mode ${mode} needs a video stream; this camera only has a snapshot URL`,
        });
    }
  }

  function priority(): number {
    const now = Date.now();
    if (!cam.detectors.length) return 0;
    return cam.detectors.some((u) => isScheduleActive(cam.schedules[u.rule], now, d.timeZone)) ? 1 : 0;
  }

  function accept(
    s: RawSample,
    scheduledAt: number,
    capturedAt: number,
    seq: number,
    videoTimeSec?: number,
  ): void {
    const lag = Math.max(0, s.arrivedAt - scheduledAt);
    lags.push(lag);
    if (lags.length > 50) lags.shift();
    d.metrics.lag.observe(lag / 1000);
    d.metrics.samples.inc({ camera: cam.id });
    framesSampled++;
    lastFrameAt = s.arrivedAt;
    last = s.jpeg;
    attempt = 0;
    onvifFailures = 0;
    const size = `${s.sourceWidth}x${s.sourceHeight}`;
    if (sourceSize !== null && sourceSize !== size) {
      setState(
        'degraded',
        `resolution_changed: the stream changed from ${sourceSize} to ${size}; detector zones are normalised, check their placement`,
      );
      degradedFrames = 5;
      log.warn({ from: sourceSize, to: size }, 'camera resolution changed');
      // ffmpeg keeps its encoders at the first size and would stretch the evidence JPEG: restart
      // the pipeline so evidence comes at the new size.
      const p = proc as SamplerProcess | null;
      // (A file restarts from its beginning, so a looping demo clip keeps its first encoder size.)
      if (p && mode === 'persistent' && cam.source.kind !== 'file' && !stallKill) {
        stallKill = 'resolution_changed';
        void p.stop();
      }
    } else if (lags.length >= 5 && (p95(lags.slice(-10)) ?? 0) > Math.max(2_000, intervalMs)) {
      // One late sample is noise (a busy core); most of the recent ones late is a real backlog.
      setState(
        'degraded',
        `lagging: recent samples arrive ${((p95(lags.slice(-10)) ?? 0) / 1000).toFixed(1)} s after they were due (p95)`,
      );
      degradedFrames = 1;
    } else if (degradedFrames > 0) {
      degradedFrames--;
    } else {
      setState('online', null);
    }
    sourceSize = size;
    if (state !== 'online' && state !== 'degraded') setState('online', null);
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

  /** Runs ffmpeg until it exits; resolves with its classified failure (null: a burst that got its frame). */
  function runPipeline(
    src: { input: string; kind: 'rtsp' | 'file'; transport: 'tcp' | 'udp' },
    once: boolean,
    scheduledAt: number,
  ): Promise<Failure | null> {
    return new Promise<Failure | null>((resolve) => {
      let seq = 0;
      let anchor: number | null = null;
      let clock = 0;
      let pts0 = 0;
      procFrames = 0;
      stallKill = null;
      procStartedAt = Date.now();
      d.metrics.ffmpegProcesses.inc();
      proc = runSampler(
        {
          input: src.input,
          kind: src.kind,
          transport: src.transport,
          intervalSec: cam.samplingIntervalSec,
          width: d.frameSize.width,
          height: d.frameSize.height,
          once,
          fullDecode,
        },
        {
          onSample(s) {
            procFrames++;
            if (once) return accept(s, scheduledAt, s.arrivedAt, 0);
            // Map stream time to wall time with the smallest delivery delay seen on this
            // connection (the first frame is often late: ffmpeg probes the stream first). Lag is
            // then the delay beyond that best case plus the wait for a keyframe in each slot.
            const offset = s.arrivedAt - s.ptsSec * 1000;
            if (anchor === null) {
              pts0 = s.ptsSec;
              clock = offset;
            } else if (src.kind === 'rtsp' && offset < anchor - 500) {
              // Stream time jumped forward: ffmpeg re-bases RTP timestamps when the first RTCP
              // sender report arrives, often just after the first sample. A late delivery can only
              // raise the offset, so a drop means the timeline moved: restart the slot grid here,
              // or every later sample would count the jump as lag.
              pts0 = s.ptsSec;
            }
            anchor = anchor === null ? offset : Math.min(anchor, offset);
            // Same slot grid as the select filter in ffmpeg: it starts at the first frame.
            const slotStart =
              anchor +
              (pts0 + slotIndex(s.ptsSec, pts0, cam.samplingIntervalSec) * cam.samplingIntervalSec) * 1000;
            // A file's capture time follows its own clock from the first frame (steady, monotonic).
            const capturedAt = src.kind === 'file' ? Math.round(clock + s.ptsSec * 1000) : s.arrivedAt;
            accept(s, slotStart, capturedAt, seq++, src.kind === 'file' ? s.ptsSec : undefined);
          },
          onExit(info) {
            proc = null;
            d.metrics.ffmpegProcesses.dec();
            const stderr = redactText(info.stderrTail, secrets);
            if (stallKill === 'resolution_changed') {
              resolve({
                state: 'offline',
                code: 'resolution_changed',
                message: 'restart at the new resolution',
              });
              return;
            }
            if (stallKill) {
              resolve({ state: 'offline', code: 'stalled', message: stallKill });
              return;
            }
            if (once && info.frames > 0) {
              resolve(null);
              return;
            }
            const f = classifyFfmpegExit({
              code: info.code,
              signal: info.signal,
              stderr,
              frames: info.frames,
            });
            log.debug({ code: info.code, signal: info.signal, stderr: stderr.slice(-800) }, 'ffmpeg exited');
            resolve(f);
          },
        },
        d.ffmpegPath,
      );
    });
  }

  async function persistentLoop(): Promise<void> {
    for (;;) {
      let lease: Lease | null = null;
      let f: Failure;
      try {
        const src = await streamInput();
        if (src.kind === 'file' && !fullDecode && !gopChecked) {
          gopChecked = true;
          const gap = await maxKeyframeGapSec(src.input, log);
          if (gap !== null && gap > cam.samplingIntervalSec) {
            fullDecode = true;
            log.warn(
              { keyframeGapSec: gap, intervalSec: cam.samplingIntervalSec },
              'file keyframes are further apart than the sampling interval: decoding every frame',
            );
          }
        }
        lease = await d.budget.acquire(
          { cameraId: cam.id, ffmpeg: true, rate: 1 / cam.samplingIntervalSec, priority: priority() },
          abort.signal,
        );
        if (abort.signal.aborted) throw new Stopped();
        f = (await runPipeline(src, false, Date.now())) ?? {
          state: 'offline',
          code: 'stream_ended',
          message: 'the stream ended',
        };
        if (cam.source.kind === 'onvif') onvifFailures++;
      } catch (e) {
        if (e instanceof Stopped || abort.signal.aborted) throw new Stopped();
        if (!(e instanceof SourceFailure)) throw e;
        f = e.failure;
      } finally {
        lease?.release();
      }
      if (abort.signal.aborted) throw new Stopped();
      restarts++;
      d.metrics.restarts.inc({ camera: cam.id, reason: f.code });
      if (f.code === 'resolution_changed') continue; // stays degraded with its reason
      fail(f);
      const wait =
        procFrames > 0 && f.code !== 'stalled' ? d.config.backoff.initialMs * Math.random() : backoffMs(f);
      if (procFrames > 0) attempt = 0;
      await sleep(wait);
    }
  }

  async function periodicLoop(): Promise<void> {
    let next = Date.now();
    for (;;) {
      const now = Date.now();
      if (next > now) await sleep(next - now);
      const scheduledAt = next;
      next = Math.max(next + intervalMs, Date.now());
      let failure: Failure | null = null;
      try {
        if (mode === 'burst') {
          const src = await streamInput();
          const lease = await d.budget.acquire(
            { cameraId: cam.id, ffmpeg: true, rate: 0, priority: priority() },
            abort.signal,
          );
          try {
            const r = await runPipeline(src, true, scheduledAt);
            if (procFrames === 0) failure = r;
          } finally {
            lease.release();
          }
        } else {
          const url = await snapshotUrl();
          await d.budget.takeDecode(abort.signal);
          const c = credentials();
          const s = await fetchSnapshot({
            url,
            auth:
              cam.source.kind === 'snapshot' ? cam.source.auth : c.username !== undefined ? 'digest' : 'none',
            ...c,
            timeoutMs: Math.min(10_000, Math.max(2_000, intervalMs)),
            ...d.frameSize,
          });
          accept(s, scheduledAt, s.arrivedAt, framesSampled);
        }
      } catch (e) {
        if (e instanceof Stopped || abort.signal.aborted) throw new Stopped();
        if (e instanceof SourceFailure) failure = e.failure;
        else if (e instanceof SnapshotFailure)
          failure = { ...e.failure, message: redactText(e.failure.message, secrets) };
        else throw e;
      }
      if (failure) {
        if (cam.source.kind === 'onvif') onvifFailures++;
        restarts++;
        d.metrics.restarts.inc({ camera: cam.id, reason: failure.code });
        fail(failure);
        next = Math.max(next, Date.now() + backoffMs(failure));
      }
    }
  }

  async function snapshotUrl(): Promise<string> {
    const s = cam.source;
    if (s.kind === 'snapshot') return s.url;
    if (s.kind === 'onvif') {
      const r = await onvifResolution();
      if (!r.snapshotUri)
        throw new SourceFailure({
          state: 'misconfigured',
          code: 'mode_unsupported',
          message: 'mode snapshot: the ONVIF device has no snapshot URI; use persistent or burst',
        });
      return r.snapshotUri;
    }
    throw new SourceFailure({
      state: 'misconfigured',
      code: 'mode_unsupported',
      message: `mode snapshot needs a snapshot or onvif source, not ${s.kind}`,
    });
  }

  async function main(): Promise<void> {
    try {
      if (d.startDelayMs > 0) await sleep(d.startDelayMs);
      if (mode === 'burst' && cam.source.kind === 'file') {
        fail({
          state: 'misconfigured',
          code: 'mode_unsupported',
          message: 'mode burst needs a network stream; a file source plays persistently',
        });
        return;
      }
      if (mode === 'persistent') await persistentLoop();
      else await periodicLoop();
    } catch (e) {
      if (e instanceof Stopped) return;
      log.error({ err: e }, 'camera runner crashed');
      setState(
        'offline',
        `internal_error: ${redactText(e instanceof Error ? e.message : String(e), secrets)}`,
      );
    }
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
    tick(now) {
      const p = proc as SamplerProcess | null;
      if (p && mode === 'persistent' && !stallKill) {
        const floor = Math.max(d.config.stallIntervals * intervalMs, 15_000);
        const ref = procFrames > 0 && lastFrameAt !== null ? lastFrameAt : procStartedAt;
        // The first frame also waits for connect, probe and a keyframe: give it longer.
        const limit = procFrames > 0 ? floor : floor + 10_000;
        if (now - ref > limit) {
          stallKill = `stalled: no frame for ${Math.round((now - ref) / 1000)} s; restarting the stream`;
          if (!fullDecode && procFrames > 0) {
            // Frames came, then none for several intervals while ffmpeg kept running: most
            // likely keyframes are further apart than the interval (long GOP / smart codec).
            fullDecode = true;
            stallKill += ' and decoding every frame (keyframes are too far apart)';
          }
          log.warn({ sinceMs: now - ref }, 'stall watchdog restarts the camera');
          void p.stop();
        }
      }
      if (downSince !== null && !offlineRaised && now - downSince >= d.config.offlineAfterSec * 1000) {
        offlineRaised = true;
        d.raiseOffline(status(), downSince, last);
      }
    },
    async liveSource() {
      const src = await streamInput();
      return { ...src, secrets: [...secrets] };
    },
    async stop() {
      if (abort.signal.aborted) return loopDone;
      abort.abort();
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
    const keys = stdout
      .split('\n')
      .filter((l) => /,K/.test(l))
      .map((l) => Number(l.split(',')[0]))
      .filter((t) => Number.isFinite(t));
    const dur = stdout
      .split('\n')
      .map((l) => Number(l.split(',')[0]))
      .filter((t) => Number.isFinite(t));
    if (!keys.length) return null;
    const gaps = keys.slice(1).map((t, i) => t - keys[i]!);
    // A single keyframe in the probed span: the gap is at least the span itself.
    const span = dur.length ? Math.max(...dur) - keys[0]! : 0;
    return gaps.length ? Math.max(...gaps) : span;
  } catch (e) {
    // The sampler itself will report an unreadable file with a proper reason.
    log.debug({ err: e }, 'keyframe probe failed');
    return null;
  }
}

class SourceFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}
