import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DetectedObject, RuleEmission, TrackedObject, ZoneView } from '../plugin-api/contract.js';
import type { Alert } from '../../../core/contracts/alert.js';
import type { Suppression } from '../../../core/contracts/alert-service.js';
import { dwellFactorFor, isSuppressed } from '../../../core/rules/suppression-match.js';
import type { EvidenceStore } from '../../../core/contracts/evidence-store.js';
import type { Finding, FindingSink, FindingTypeInfo } from '../../../core/contracts/finding.js';
import type { Frame } from '../../../core/contracts/frame.js';
import type { LoadedCamera } from '../../../core/contracts/loaded-camera.js';
import { ClosedError } from '../../../core/errors.js';
import type { DetectorsConfig } from '../config/detectors-config.js';
import type { PluginSet, PluginStatus } from '../loader/plugin-loader.js';
import type { InferencePool, InferencePoolHealth, InferenceResult } from '../model/inference-pool.js';
import { createCameraStates, type CameraState } from './camera-state.js';
import { activeRules, maskFor, motionRequest } from './motion-gate.js';
import { createPipelineMetrics, type PipelineStats } from './pipeline-metrics.js';
import { createRaiser, matchRecheck } from './raise.js';
import { endQuietEvents, evaluateRules } from './rule-evaluation.js';
import { noteFirstFrames, trackStep, type DoneResult } from './tracking-step.js';

export { matchRecheck } from './raise.js';

export type PipelineEvent =
  | {
      kind: 'frame';
      cameraId: string;
      at: number;
      inferred: boolean;
      /** Motion gate measure (null: no reference yet or gate off). */
      changedCells: number | null;
      objects: DetectedObject[];
      tracks: readonly TrackedObject[];
    }
  | { kind: 'emission'; cameraId: string; at: number; plugin: string; emission: RuleEmission }
  | { kind: 'finding'; cameraId: string; at: number; finding: Finding; refresh: boolean; key: string }
  | { kind: 'end'; cameraId: string; at: number; type: string; key: string }
  /**
   * 二次识别 at raise time: before a new alert is raised, the current frame was checked with a
   * fresh inference (`fresh`: false = the model had already run on this very frame).
   */
  | {
      kind: 'recheck';
      cameraId: string;
      at: number;
      type: string;
      key: string;
      present: boolean;
      score: number;
      fresh: boolean;
    }
  | { kind: 'dropped'; cameraId: string; at: number };

export interface DetectionPipelineOptions {
  config: DetectorsConfig;
  plugins: PluginSet;
  pool: InferencePool;
  evidence: EvidenceStore;
  findingSink: FindingSink;
  timeZone: string;
  logger: Logger;
  metrics: Registry;
  onEvent?: (e: PipelineEvent) => void;
}

export interface PipelineHealth {
  cameras: number;
  framesProcessed: number;
  framesInferred: number;
  framesSkippedByMotion: number;
  framesDropped: number;
  findingsSubmitted: number;
  lastError: string | null;
  pool: InferencePoolHealth;
  plugins: PluginStatus[];
}

export interface DetectionPipeline {
  process(frame: Frame, cam: LoadedCamera): Promise<void>;
  update(cameras: readonly LoadedCamera[]): Promise<void>;
  setSuppressions(list: readonly Suppression[]): void;
  typeInfos(): FindingTypeInfo[];
  health(): PipelineHealth;
  /** 二次识别: are objects of the alert's kind still at the alert's boxes in this frame? */
  recheck(frame: Frame, alert: Alert): Promise<{ present: boolean; score: number }>;
  close(): Promise<void>;
}

/**
 * motion gate → model (worker pool) → tracker → rules (plugin threads) → raise (re-check,
 * evidence, finding). One chain per camera keeps a camera's frames in order; cameras run in
 * parallel. The parts, each in its own file:
 *   camera-state.ts    what is kept per camera between samples (the explicit state)
 *   motion-gate.ts     sampling: the active rules, their zone mask, the gate's question
 *   tracking-step.ts   the tracker step on the inference result, track doubt, first frames
 *   rule-evaluation.ts the camera's rules on one sample, and events that ended
 *   raise.ts           suppression, dedup, the raise-time re-check, evidence, the finding
 * This file composes them: process() runs one frame through, in that order.
 */
export function createDetectionPipeline(opts: DetectionPipelineOptions): DetectionPipeline {
  const { config, plugins, pool, timeZone } = opts;
  const log = opts.logger.child({ component: 'detection-pipeline' });
  const m = createPipelineMetrics(opts.metrics);
  const stats: PipelineStats = {
    processed: 0,
    inferred: 0,
    skipped: 0,
    dropped: 0,
    findings: 0,
    lastError: null,
  };
  let suppressions: readonly Suppression[] = [];
  let closing: Promise<void> | null = null;
  const typeColor = () => new Map(plugins.typeInfos().map((t) => [t.type, t.color]));
  let colors = typeColor();
  const states = createCameraStates({
    plugins,
    tracker: config.tracker,
    onRulesBuilt: () => {
      colors = typeColor();
    },
  });

  const emit = (e: PipelineEvent) => {
    if (!opts.onEvent) return;
    try {
      opts.onEvent(e);
    } catch (err) {
      log.error({ err }, 'onEvent listener threw');
    }
  };

  // Suppression semantics have one definition (core/rules/suppression-match.ts), shared with
  // the dispatcher's alert engine.
  const dwellFactorsByZone = (cameraId: string, type: string, zones: readonly ZoneView[]) => {
    const f: Record<string, number> = {};
    for (const z of zones) {
      const k = dwellFactorFor(suppressions, { cameraId, type, zoneId: z.id });
      if (k > 1) f[z.id] = k;
    }
    return f;
  };

  const raiser = createRaiser({
    refreshSec: config.refreshSec,
    pool,
    evidence: opts.evidence,
    findingSink: opts.findingSink,
    timeZone,
    log,
    m,
    stats,
    emit,
    colors: () => colors,
    isSuppressed: (cameraId, type, zoneId) => isSuppressed(suppressions, { cameraId, type, zoneId }),
  });

  /** Rules and raise, on the camera's chain (after the tracker step). */
  async function afterInference(
    st: CameraState,
    frame: Frame,
    res: DoneResult,
    tracks: readonly TrackedObject[],
    at: number,
    active: string[],
  ): Promise<void> {
    emit({
      kind: 'frame',
      cameraId: st.cam.id,
      at,
      inferred: res.inferred,
      changedCells: res.changed,
      objects: res.objects,
      tracks,
    });
    noteFirstFrames(st, frame, tracks, at);
    const seen = new Set<string>();
    const current = raiser.currentObjects(st, frame, res);
    const results = await evaluateRules(st, frame, res.inferred, tracks, at, active, (rule, zones) =>
      dwellFactorsByZone(st.cam.id, rule, zones),
    );
    for (const { handle, emissions } of results) {
      for (const em of emissions) await raiser.handle(st, handle, em, frame, at, seen, current);
    }
    for (const e of endQuietEvents(st, seen, at)) emit({ kind: 'end', cameraId: st.cam.id, at, ...e });
  }

  /** Sampling, motion gate and inference; the tracker step runs as the result arrives. */
  async function infer(
    st: CameraState,
    frame: Frame,
    at: number,
    active: string[],
  ): Promise<{ res: InferenceResult; tracks: readonly TrackedObject[] }> {
    const cam = st.cam;
    const pixels = st.rules.some((r) => r.handle.wantsPixels);
    // Rules that read pixels (fire/smoke) need the frame even when nothing moved; others
    // only need the model when something in their zones changed.
    const gate = config.motion.enabled && !pixels;
    const mask = gate ? maskFor(st, active) : null;
    if (active.length === 0) {
      const res: DoneResult = {
        status: 'done',
        inferred: false,
        objects: [],
        gray: null,
        changed: null,
        area: null,
        inferMs: 0,
      };
      return { res, tracks: trackStep(st, res, at, mask) };
    }
    let tracks: readonly TrackedObject[] = [];
    // The pool transfers the pixel buffer to the worker; rules that read pixels get a copy.
    const rgb = pixels ? new Uint8Array(frame.rgb) : frame.rgb;
    const res = await pool.infer({
      cameraId: cam.id,
      rgb,
      width: frame.width,
      height: frame.height,
      ...(cam.model ? { model: cam.model } : {}),
      ...(mask ? { motion: () => motionRequest(st, mask, at, config.motion) } : {}),
      onResult: (r) => {
        if (r.status !== 'done') return;
        if (r.inferred) {
          if (r.gray) st.ref = r.gray;
          st.lastInferAt = at;
        }
        tracks = trackStep(st, r, at, mask);
      },
    });
    return { res, tracks };
  }

  return {
    async process(frame, cam) {
      if (closing) throw new ClosedError('detection pipeline');
      const st = await states.get(cam);
      const at = frame.capturedAt;
      stats.processed++;
      const active = activeRules(st, at, timeZone);
      const { res, tracks } = await infer(st, frame, at, active);
      if (res.status === 'dropped') {
        stats.dropped++;
        emit({ kind: 'dropped', cameraId: cam.id, at });
        return;
      }
      if (res.inferred) stats.inferred++;
      else stats.skipped++;
      const run = st.chain.then(() => afterInference(st, frame, res, tracks, at, active));
      st.chain = run.catch((err: unknown) => {
        m.errors.inc({ stage: 'frame' });
        stats.lastError = err instanceof Error ? err.message : String(err);
        log.error({ err, cameraId: cam.id }, 'frame processing failed');
      });
      await run;
    },
    async update(cameras) {
      if (closing) throw new ClosedError('detection pipeline');
      await states.retain(new Set(cameras.filter((c) => c.enabled).map((c) => c.id)));
      for (const c of cameras) if (c.enabled) await states.get(c);
    },
    setSuppressions(list) {
      suppressions = [...list];
    },
    typeInfos: () => plugins.typeInfos(),
    health() {
      return {
        cameras: states.size(),
        framesProcessed: stats.processed,
        framesInferred: stats.inferred,
        framesSkippedByMotion: stats.skipped,
        framesDropped: stats.dropped,
        findingsSubmitted: stats.findings,
        lastError: stats.lastError,
        pool: pool.health(),
        plugins: plugins.status(),
      };
    },
    async recheck(frame, alert) {
      if (closing) throw new ClosedError('detection pipeline');
      const model = states.peek(alert.cameraId)?.cam.model;
      const res = await pool.infer({
        cameraId: `recheck:${alert.cameraId}:${alert.id}`,
        rgb: new Uint8Array(frame.rgb),
        width: frame.width,
        height: frame.height,
        // The camera's own model, so a re-check judges with the model that raised the alert.
        ...(model ? { model } : {}),
      });
      if (res.status !== 'done') return { present: false, score: 0 };
      return matchRecheck(res.objects, alert.boxes);
    },
    close() {
      closing ??= states.closeAll();
      return closing;
    },
  };
}
