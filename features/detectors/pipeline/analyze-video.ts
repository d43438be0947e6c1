import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DetectedObject, TrackedObject } from '../plugin-api/contract.js';
import type { EvidenceStore } from '../../../core/contracts/evidence-store.js';
import type { Finding, FindingSink } from '../../../core/contracts/finding.js';
import type { Suppression } from '../../../core/contracts/alert-service.js';
import type { LoadedCamera } from '../../../core/contracts/loaded-camera.js';
import { Codes, DependencyMissingError, GridwatchError } from '../../../core/errors.js';
import { which } from '../../../core/util/which.js';
import type { DetectorsConfig } from '../config/detectors-config.js';
import type { PluginSet } from '../loader/plugin-loader.js';
import type { InferencePool } from '../model/inference-pool.js';
import { MODEL_SIZE } from '../model/centernet.js';
import { createDetectionPipeline, type PipelineEvent } from './detection-pipeline.js';

const execFileP = promisify(execFile);

/** One event (one rule key) found in the video; times are seconds from the video's start. */
export interface AnalyzedEvent {
  type: string;
  zone: string | null;
  key: string;
  /** When the condition began (the rule's firstSeen), and when it last held. */
  start: number;
  end: number;
  /**
   * When the live gateway would have raised the alert: the first finding submitted for this
   * event (after suppression and the raise-time re-check). For an event that was never raised
   * (suppressed, or the re-check found nothing), when the rule first reported it.
   */
  raisedAt: number;
  /** Whether a finding was submitted for it (an alert in the live gateway). */
  raised: boolean;
  /** The boxes of the raised finding (else of the first emission). */
  boxes: Finding['boxes'];
  /** Score of the raise-time re-check (二次识别), null when none ran. */
  recheckScore: number | null;
  trackIds: string[];
  score: number;
  evidence: string[];
  findingIds: string[];
  plugin: string;
}

export interface AnalyzedFrame {
  t: number;
  inferred: boolean;
  changedCells: number | null;
  objects: DetectedObject[];
  /** The tracker's view after this sample; times in seconds from the video's start. */
  tracks: TrackedObject[];
}

export interface AnalyzeResult {
  events: AnalyzedEvent[];
  findings: Finding[];
  frames: AnalyzedFrame[];
  framesSampled: number;
  framesInferred: number;
  durationSec: number;
  wallMs: number;
}

export interface AnalyzeVideoOptions {
  video: string;
  camera: LoadedCamera;
  config: DetectorsConfig;
  plugins: PluginSet;
  pool: InferencePool;
  evidence: EvidenceStore;
  logger: Logger;
  metrics: Registry;
  timeZone?: string;
  /** Wall-clock time of the video's first frame (ms); default 2026-01-05T09:00 Asia/Shanghai (a Monday). */
  startAt?: number;
  /** Override camera.samplingIntervalSec. */
  intervalSec?: number;
  /** Stop after this many seconds of video. */
  maxSec?: number;
  /** Where findings also go (they are always collected in the result). */
  findingSink?: FindingSink;
  /** Operator suppressions in force for the whole run. */
  suppressions?: Suppression[];
  /** Called with each sample as it is processed (`npm run analyze -- --trace`). */
  onFrame?: (f: AnalyzedFrame) => void;
  /** Keep every sample in the result's `frames` (default true). */
  keepFrames?: boolean;
}

/** Size and duration of a video; GW_VIDEO (one line, ffprobe's reason) when it cannot be read. */
export async function probeVideo(
  video: string,
): Promise<{ width: number; height: number; duration: number }> {
  let stdout: string;
  try {
    ({ stdout } = await execFileP('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=width,height:format=duration',
      '-of',
      'json',
      video,
    ]));
  } catch (err) {
    // ffprobe's own words, last line only (one line for the tool's error; never a stack).
    const why =
      String((err as { stderr?: string }).stderr ?? '')
        .trim()
        .split('\n')
        .at(-1) || 'unreadable';
    throw new GridwatchError(
      Codes.GW_VIDEO,
      `${video}: not a readable video (${why.replace(`${video}: `, '')})`,
    );
  }
  const j = JSON.parse(stdout) as {
    streams?: Array<{ width?: number; height?: number }>;
    format?: { duration?: string };
  };
  const s = j.streams?.[0];
  if (!s?.width || !s.height) throw new GridwatchError(Codes.GW_VIDEO, `${video}: no video stream found`);
  return { width: s.width, height: s.height, duration: Number(j.format?.duration ?? 0) };
}

/**
 * Runs a video file through exactly the live pipeline (motion gate, model pool, tracker, the
 * camera's rules), sampling at the camera's interval on the video's own clock, as fast as the
 * model allows. Used by `npm run analyze`, the footage tests and the benchmark.
 */
export async function analyzeVideo(o: AnalyzeVideoOptions): Promise<AnalyzeResult> {
  if (!which('ffmpeg') || !which('ffprobe')) throw new DependencyMissingError('ffmpeg', 'ffmpeg');
  if (!existsSync(o.video)) throw new GridwatchError(Codes.GW_VIDEO, `${o.video}: no such video file`);
  const t0 = performance.now();
  const interval = o.intervalSec ?? o.camera.samplingIntervalSec;
  const startAt = o.startAt ?? Date.parse('2026-01-05T01:00:00Z');
  const info = await probeVideo(o.video);
  // Evidence at the source size, capped at 1280 wide like ingest does.
  const w = Math.min(info.width, 1280) & ~1;
  const h = Math.round((info.height * w) / info.width) & ~1;
  const frameBytes = w * h * 3;

  // A key's event ends when the pipeline says so ('end'); the same key emitted later is a new
  // event (a new alert in the live gateway), so it gets a line of its own.
  const events: AnalyzedEvent[] = [];
  const open = new Map<string, AnalyzedEvent>();
  const findings: Finding[] = [];
  const frames: AnalyzedFrame[] = [];
  const rel = (at: number) => Math.round((at - startAt) / 10) / 100;
  const onEvent = (e: PipelineEvent) => {
    if (e.kind === 'frame') {
      const f: AnalyzedFrame = {
        t: rel(e.at),
        inferred: e.inferred,
        changedCells: e.changedCells,
        objects: e.objects,
        tracks: e.tracks.map((tr) => ({
          ...tr,
          firstSeen: rel(tr.firstSeen),
          lastSeen: rel(tr.lastSeen),
          stationarySince: tr.stationarySince === null ? null : rel(tr.stationarySince),
        })),
      };
      if (o.keepFrames !== false) frames.push(f);
      o.onFrame?.(f);
    } else if (e.kind === 'emission') {
      const em = e.emission;
      const k = `${em.type}|${em.key}`;
      const ev = open.get(k);
      if (!ev) {
        const created: AnalyzedEvent = {
          type: em.type,
          zone: em.zoneId,
          key: em.key,
          start: rel(em.firstSeen),
          end: rel(em.lastSeen),
          raisedAt: rel(e.at),
          raised: false,
          boxes: em.boxes.map((b) => ({ ...b })),
          recheckScore: null,
          trackIds: [...em.trackIds],
          score: em.score,
          evidence: [],
          findingIds: [],
          plugin: e.plugin,
        };
        open.set(k, created);
        events.push(created);
      } else {
        ev.end = rel(em.lastSeen);
        ev.score = Math.max(ev.score, em.score);
        for (const t of em.trackIds) if (!ev.trackIds.includes(t)) ev.trackIds.push(t);
      }
    } else if (e.kind === 'recheck') {
      const target = open.get(`${e.type}|${e.key}`);
      if (target && !target.raised) target.recheckScore = e.score;
    } else if (e.kind === 'finding') {
      findings.push(e.finding);
      const target = open.get(`${e.finding.type}|${e.key}`);
      if (target) {
        if (!target.raised) {
          target.raised = true;
          target.raisedAt = rel(e.at);
          target.boxes = e.finding.boxes.map((b) => ({ ...b }));
        }
        target.findingIds.push(e.finding.id);
        for (const p of [e.finding.evidence.firstSeen, e.finding.evidence.first, e.finding.evidence.latest])
          if (p && !target.evidence.includes(p)) target.evidence.push(p);
      }
    } else if (e.kind === 'end') {
      open.delete(`${e.type}|${e.key}`);
    }
  };
  const pipeline = createDetectionPipeline({
    config: o.config,
    plugins: o.plugins,
    pool: o.pool,
    evidence: o.evidence,
    findingSink: o.findingSink ?? { submit: () => Promise.resolve() },
    timeZone: o.timeZone ?? 'Asia/Shanghai',
    logger: o.logger,
    metrics: o.metrics,
    onEvent,
  });
  if (o.suppressions) pipeline.setSuppressions(o.suppressions);

  const args = [
    '-nostdin',
    '-v',
    'error',
    '-i',
    o.video,
    ...(o.maxSec ? ['-t', String(o.maxSec)] : []),
    '-an',
    '-vf',
    `fps=1/${interval},scale=${w}:${h}`,
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
  const ff = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  ff.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const exited = new Promise<number>((res) => ff.on('close', (code) => res(code ?? -1)));
  let seq = 0;
  let pending: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of ff.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        const raw = pending.subarray(0, frameBytes);
        pending = pending.subarray(frameBytes);
        const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
        const [rgb, jpeg] = await Promise.all([
          img.clone().resize(MODEL_SIZE, MODEL_SIZE, { fit: 'fill' }).raw().toBuffer(),
          img.clone().jpeg({ quality: 80 }).toBuffer(),
        ]);
        const at = startAt + Math.round(seq * interval * 1_000);
        await pipeline.process(
          {
            cameraId: o.camera.id,
            seq,
            capturedAt: at,
            videoTimeSec: seq * interval,
            width: MODEL_SIZE,
            height: MODEL_SIZE,
            rgb: new Uint8Array(rgb.buffer.slice(rgb.byteOffset, rgb.byteOffset + rgb.byteLength)),
            jpeg: new Uint8Array(jpeg),
            jpegWidth: w,
            jpegHeight: h,
          },
          o.camera,
        );
        seq++;
      }
    }
    const code = await exited;
    if (code !== 0)
      throw new GridwatchError(
        Codes.GW_VIDEO,
        `ffmpeg could not decode ${o.video} (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
  } finally {
    if (ff.exitCode === null) ff.kill('SIGKILL');
    await pipeline.close();
  }
  const h0 = pipeline.health();
  return {
    events: events.sort((a, b) => a.start - b.start),
    findings,
    frames,
    framesSampled: seq,
    framesInferred: h0.framesInferred,
    durationSec: info.duration,
    wallMs: performance.now() - t0,
  };
}
