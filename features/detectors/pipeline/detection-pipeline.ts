import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type {
  DetectedObject,
  NBox,
  RuleEmission,
  RuleInput,
  TrackedObject,
  ZoneView,
} from '../plugin-api/contract.js';
import type { Alert } from '../../../core/contracts/alert.js';
import type { Suppression } from '../../../core/contracts/alert-service.js';
import { dwellFactorFor, isSuppressed } from '../../../core/rules/suppression-match.js';
import type { EvidenceStore } from '../../../core/contracts/evidence-store.js';
import {
  FindingSchema,
  type Finding,
  type FindingSink,
  type RaiseWhy,
  type FindingTypeInfo,
} from '../../../core/contracts/finding.js';
import type { Frame } from '../../../core/contracts/frame.js';
import type { LoadedCamera } from '../../../core/contracts/loaded-camera.js';
import { isScheduleActive } from '../../../core/config/schedule.js';
import { ClosedError } from '../../../core/errors.js';
import type { DetectorsConfig } from '../config/detectors-config.js';
import { drawEvidence } from '../evidence/draw-evidence.js';
import type { PluginSet, PluginStatus, RuleHandle } from '../loader/plugin-loader.js';
import type { InferencePool, InferencePoolHealth, InferenceResult } from '../model/inference-pool.js';
import { GRID_H, GRID_W, zoneMask } from '../motion/motion.js';
import { createTracker, classFamily, iou, type Tracker } from '../tracker/tracker.js';
import { zodIssuesText } from '../../../core/config/zod-issues.js';
import { createFirstSeenFrames, type FirstSeenFrames } from './first-seen-frames.js';

/** What the pipeline did with one frame or event; analyze and tests listen, the gateway need not. */
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

interface CurrentObjects {
  /** The sample's own detections when the model ran on it, else null (inferred on demand). */
  objects: readonly DetectedObject[] | null;
  get(): Promise<readonly DetectedObject[] | null>;
}

interface OpenEvent {
  baseId: string;
  lastEmittedAt: number;
  firstSeen: number;
  lastSubmitAt: number;
  firstEvidence: string | null;
}

interface CamState {
  cam: LoadedCamera;
  rulesSig: string;
  rules: Array<{ rule: string; handle: RuleHandle }>;
  tracker: Tracker;
  ref: Uint8Array | null;
  lastInferAt: number | null;
  maskSig: string;
  mask: Uint8Array;
  events: Map<string, OpenEvent>;
  /** The frame each relevant track was first seen in (an alert's first-seen evidence). */
  firstFrames: FirstSeenFrames;
  chain: Promise<void>;
  /** A track in the active zones is in doubt (just missed, or too young to count). */
  doubt: boolean;
}

const hash = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 12);
const clamp01 = (v: number) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0);

/**
 * motion gate → model (worker pool) → tracker → rules (plugin threads) → findings with
 * drawn evidence. One chain per camera keeps a camera's frames in order; cameras run in parallel.
 */
export function createDetectionPipeline(opts: DetectionPipelineOptions): DetectionPipeline {
  const { config, plugins, pool, evidence, findingSink, timeZone } = opts;
  const log = opts.logger.child({ component: 'detection-pipeline' });
  const reg = opts.metrics;
  const mFindings = new Counter({
    name: 'gridwatch_detector_findings_total',
    help: 'Findings submitted (first and refresh)',
    labelNames: ['type', 'kind'],
    registers: [reg],
  });
  const mSuppressed = new Counter({
    name: 'gridwatch_detector_emissions_suppressed_total',
    help: 'Rule emissions dropped by an operator suppression',
    labelNames: ['type'],
    registers: [reg],
  });
  const mErrors = new Counter({
    name: 'gridwatch_detector_pipeline_errors_total',
    help: 'Frames or findings that failed in the pipeline',
    labelNames: ['stage'],
    registers: [reg],
  });
  const mRechecks = new Counter({
    name: 'gridwatch_detector_raise_rechecks_total',
    help: 'Re-checks (二次识别) before raising a new alert, by result (present, absent)',
    labelNames: ['type', 'result'],
    registers: [reg],
  });
  const states = new Map<string, CamState>();
  const pendingStates = new Map<string, Promise<CamState>>();
  let suppressions: readonly Suppression[] = [];
  let closed = false;
  const stats = { processed: 0, inferred: 0, skipped: 0, dropped: 0, findings: 0 };
  let lastError: string | null = null;
  const typeColor = () => new Map(plugins.typeInfos().map((t) => [t.type, t.color]));
  let colors = typeColor();

  const emit = (e: PipelineEvent) => {
    if (!opts.onEvent) return;
    try {
      opts.onEvent(e);
    } catch (err) {
      log.error({ err }, 'onEvent listener threw');
    }
  };

  const rulesSig = (cam: LoadedCamera) => JSON.stringify(cam.detectors);

  async function buildRules(cam: LoadedCamera): Promise<CamState['rules']> {
    const out: CamState['rules'] = [];
    for (const d of cam.detectors) {
      const handle = await plugins.createRule(d.rule, cam.id, d.options);
      if (handle) out.push({ rule: d.rule, handle });
    }
    return out;
  }

  async function closeRules(rules: CamState['rules']): Promise<void> {
    await Promise.all(rules.map((r) => r.handle.close()));
  }

  async function stateFor(cam: LoadedCamera): Promise<CamState> {
    const have = states.get(cam.id);
    if (have && have.rulesSig === rulesSig(cam)) {
      have.cam = cam;
      return have;
    }
    const pending = pendingStates.get(cam.id);
    if (pending) return pending;
    const p = (async () => {
      const rules = await buildRules(cam);
      const old = states.get(cam.id);
      if (old) await closeRules(old.rules);
      const st: CamState = {
        cam,
        rulesSig: rulesSig(cam),
        rules,
        tracker: old?.tracker ?? createTracker(config.tracker),
        ref: old?.ref ?? null,
        lastInferAt: old?.lastInferAt ?? null,
        maskSig: '',
        mask: new Uint8Array(0),
        events: old?.events ?? new Map(),
        firstFrames: old?.firstFrames ?? createFirstSeenFrames(),
        chain: old?.chain ?? Promise.resolve(),
        doubt: false,
      };
      states.set(cam.id, st);
      colors = typeColor();
      return st;
    })();
    pendingStates.set(cam.id, p);
    try {
      return await p;
    } finally {
      pendingStates.delete(cam.id);
    }
  }

  function activeRules(st: CamState, at: number): string[] {
    return st.rules
      .filter((r) => isScheduleActive(st.cam.schedules[r.rule], at, timeZone))
      .map((r) => r.rule);
  }

  /** Union of the zones the active rules look at; a rule without zones looks at the whole image. */
  function maskFor(st: CamState, active: string[]): Uint8Array {
    const zonesByRule = active.map((r) => st.cam.zones.filter((z) => z.rules.includes(r)));
    const whole = zonesByRule.some((zs) => zs.length === 0);
    const polys = whole ? [] : [...new Set(zonesByRule.flat())].map((z) => z.polygon);
    const sig = whole ? '*' : JSON.stringify(polys);
    if (sig !== st.maskSig) {
      st.mask = zoneMask(polys);
      st.maskSig = sig;
    }
    return st.mask;
  }

  // Suppression semantics have one definition (core/rules/suppression-match.ts), shared with
  // the dispatcher's alert engine.
  function dwellFactorsByZone(
    cameraId: string,
    type: string,
    zones: readonly ZoneView[],
  ): Record<string, number> {
    const f: Record<string, number> = {};
    for (const z of zones) {
      const k = dwellFactorFor(suppressions, { cameraId, type, zoneId: z.id });
      if (k > 1) f[z.id] = k;
    }
    return f;
  }

  const suppressed = (cameraId: string, type: string, zoneId: string | null) =>
    isSuppressed(suppressions, { cameraId, type, zoneId });

  async function storeEvidence(
    name: string,
    frame: Pick<Frame, 'jpeg' | 'jpegWidth' | 'jpegHeight'>,
    st: CamState,
    em: RuleEmission,
    at: number,
    /** Other boxes than the emission's (the first-seen frame shows the box of then). */
    boxes: RuleEmission['boxes'] = em.boxes,
  ): Promise<string | null> {
    try {
      const zones = st.cam.zones.filter((z) =>
        em.zoneId === null ? z.rules.includes(em.type) : z.id === em.zoneId,
      );
      const local = new Intl.DateTimeFormat('sv-SE', {
        timeZone,
        dateStyle: 'short',
        timeStyle: 'medium',
      }).format(at);
      const caption = `${em.type} · ${st.cam.name} · ${local}`;
      const color = colors.get(em.type);
      const jpeg = await drawEvidence(frame.jpeg, frame.jpegWidth, frame.jpegHeight, {
        zones: zones.map((z) => ({ name: z.name, polygon: z.polygon })),
        boxes,
        caption,
        ...(color ? { color } : {}),
      });
      return await evidence.put(name, jpeg, at);
    } catch (err) {
      mErrors.inc({ stage: 'evidence' });
      lastError = `evidence: ${err instanceof Error ? err.message : String(err)}`;
      log.error(
        { err, cameraId: st.cam.id, type: em.type },
        'could not store evidence; submitting the finding without it',
      );
      return null;
    }
  }

  function toFinding(
    st: CamState,
    h: RuleHandle,
    em: RuleEmission,
    id: string,
    ev: { first: string | null; latest: string | null; firstSeen?: string | null },
    why?: RaiseWhy,
  ): Finding | null {
    const box = (b: RuleEmission['boxes'][number]) => ({
      x1: clamp01(Math.min(b.x1, b.x2)),
      y1: clamp01(Math.min(b.y1, b.y2)),
      x2: clamp01(Math.max(b.x1, b.x2)),
      y2: clamp01(Math.max(b.y1, b.y2)),
      label: String(b.label).slice(0, 50),
      score: clamp01(b.score),
      ...(b.trackId === undefined ? {} : { trackId: String(b.trackId).slice(0, 64) }),
    });
    const candidate = {
      id,
      cameraId: st.cam.id,
      type: em.type,
      zoneId: em.zoneId,
      score: clamp01(em.score),
      trackIds: em.trackIds.slice(0, 100).map((t) => String(t).slice(0, 64)),
      boxes: em.boxes.slice(0, 100).map(box),
      firstSeen: Math.max(0, Math.round(em.firstSeen)),
      lastSeen: Math.max(0, Math.round(em.lastSeen)),
      ...(em.placeKey ? { placeKey: em.placeKey.slice(0, 64) } : {}),
      evidence: ev,
      detector: { plugin: h.plugin, version: h.version },
      ...(em.details ? { details: em.details } : {}),
      ...(why ? { why } : {}),
    };
    const r = FindingSchema.safeParse(candidate);
    if (r.success) return r.data;
    mErrors.inc({ stage: 'finding_schema' });
    lastError = `plugin ${h.plugin} emitted an invalid finding: ${zodIssuesText(r.error)}`;
    log.error(
      { plugin: h.plugin, cameraId: st.cam.id, issues: r.error.issues },
      'rule emission does not make a valid finding; dropped',
    );
    return null;
  }

  /**
   * The frame the emission's earliest track was first seen in, with its box of then, stored
   * as the alert's first-seen evidence; null when that frame is no longer held.
   */
  async function storeFirstSeen(name: string, st: CamState, em: RuleEmission): Promise<string | null> {
    const earliest = em.trackIds
      .map((trackId) => ({ trackId, seen: st.firstFrames.get(trackId) }))
      .filter((x) => x.seen !== undefined)
      .sort((a, b) => a.seen!.at - b.seen!.at)[0];
    if (!earliest) return null;
    const { trackId, seen } = earliest as { trackId: string; seen: NonNullable<typeof earliest.seen> };
    return storeEvidence(name, seen, st, em, seen.at, [{ ...seen.box, trackId }]);
  }

  /** What the operator reads under "why raised": rule, zone, how long it held, the scores. */
  function whyRaised(
    st: CamState,
    h: RuleHandle,
    em: RuleEmission,
    at: number,
    recheckScore: number | null,
  ): RaiseWhy {
    const zone = em.zoneId === null ? undefined : st.cam.zones.find((z) => z.id === em.zoneId);
    const dwell = em.details?.dwellSec;
    return {
      rule: em.type,
      plugin: h.plugin,
      zoneId: em.zoneId,
      zoneName: zone?.name ?? null,
      heldSec: Math.max(0, Math.round((at - em.firstSeen) / 100) / 10),
      dwellSec: typeof dwell === 'number' && Number.isFinite(dwell) && dwell >= 0 ? dwell : null,
      score: clamp01(em.score),
      recheckScore: recheckScore === null ? null : clamp01(recheckScore),
      raisedAt: Math.max(0, Math.round(at)),
    };
  }

  async function handleEmission(
    st: CamState,
    h: RuleHandle,
    em: RuleEmission,
    frame: Frame,
    at: number,
    seen: Set<string>,
    current: CurrentObjects,
  ): Promise<void> {
    const evKey = `${em.type}|${em.key}`;
    seen.add(evKey);
    emit({ kind: 'emission', cameraId: st.cam.id, at, plugin: h.plugin, emission: em });
    if (suppressed(st.cam.id, em.type, em.zoneId)) {
      mSuppressed.inc({ type: em.type });
      return;
    }
    const open = st.events.get(evKey);
    if (open) open.lastEmittedAt = at;
    if (open && at - open.lastSubmitAt < config.refreshSec * 1_000) return;
    // 二次识别 at raise time: a dwell is judged over minutes of tracking, and a track can
    // outlive its object by its grace (or by samples the motion gate held). Before a new
    // alert, the object must be seen in the current frame by the model. Rules on pixels
    // (fire/smoke) and emissions without boxes have nothing the model could confirm.
    let recheckScore: number | null = null;
    if (!open && !h.wantsPixels && em.boxes.length > 0) {
      const fresh = current.objects === null;
      const objects = await current.get();
      const r = objects === null ? { present: false, score: 0 } : matchRecheck(objects, em.boxes);
      emit({ kind: 'recheck', cameraId: st.cam.id, at, type: em.type, key: em.key, ...r, fresh });
      if (!r.present) {
        mRechecks.inc({ type: em.type, result: 'absent' });
        log.debug({ cameraId: st.cam.id, type: em.type, key: em.key }, 're-check found nothing: not raised');
        return;
      }
      mRechecks.inc({ type: em.type, result: 'present' });
      recheckScore = r.score;
    }
    const firstSeen = Math.round(em.firstSeen);
    const baseId = open?.baseId ?? `${st.cam.id}:${em.type}:${hash(em.key)}:${firstSeen}`;
    const refresh = open !== undefined;
    const id = refresh ? `${baseId}:u${Math.round(at)}` : baseId;
    const evName = id.replace(/[^A-Za-z0-9_.-]/g, '_');
    const latest = await storeEvidence(`${evName}-latest`, frame, st, em, at);
    const first = refresh ? open.firstEvidence : latest;
    const firstSeenEv = refresh ? null : await storeFirstSeen(`${evName}-seen`, st, em);
    const finding = toFinding(
      st,
      h,
      em,
      id,
      { first, latest, ...(firstSeenEv ? { firstSeen: firstSeenEv } : {}) },
      refresh ? undefined : whyRaised(st, h, em, at, recheckScore),
    );
    if (!finding) return;
    try {
      await findingSink.submit(finding);
    } catch (err) {
      // Not marked submitted: the next frame that still shows the event tries again.
      mErrors.inc({ stage: 'sink' });
      lastError = `finding sink: ${err instanceof Error ? err.message : String(err)}`;
      log.error({ err, findingId: id }, 'finding sink refused the finding; will retry on the next frame');
      return;
    }
    st.events.set(evKey, { baseId, firstSeen, lastSubmitAt: at, firstEvidence: first, lastEmittedAt: at });
    stats.findings++;
    mFindings.inc({ type: em.type, kind: refresh ? 'refresh' : 'first' });
    emit({ kind: 'finding', cameraId: st.cam.id, at, finding, refresh, key: em.key });
  }

  /**
   * Tracker step, run synchronously when the result arrives (before the camera's next frame
   * is dispatched, so the gate's next decision sees it). The gate must change what the rules
   * see as little as possible: a skipped sample holds the tracks seen at the last inferred
   * sample and ages the missed ones by the time passed (tracker.carry), and while a track in
   * the zones was just missed or is too young to count, the next samples are inferred whatever
   * the motion, so a person who left is known to be gone within the tracker's grace and the
   * next person at the same spot gets a new track (one-by-one-person-detection.mp4).
   */
  function trackStep(
    st: CamState,
    res: Extract<InferenceResult, { status: 'done' }>,
    at: number,
    mask: Uint8Array | null,
  ): readonly TrackedObject[] {
    const tracks = res.inferred ? st.tracker.update(res.objects, at) : st.tracker.carry(at);
    if (mask === null) {
      st.doubt = false;
      return tracks;
    }
    // Only labels some rule reads count (a flickering 'frisbee' on a table top does not).
    const all = st.rules.some((r) => r.handle.consumes.length === 0);
    const fams = new Set(st.rules.flatMap((r) => r.handle.consumes.map(classFamily)));
    st.doubt = tracks.some(
      (t) =>
        (all || fams.has(classFamily(t.label))) && (t.missed > 0 || t.hits < 3) && touchesMask(t.box, mask),
    );
    return tracks;
  }

  /** Remembers the first frame of new tracks of a class some rule reads. */
  function noteFirstFrames(st: CamState, frame: Frame, tracks: readonly TrackedObject[], at: number): void {
    const all = st.rules.some((r) => r.handle.consumes.length === 0);
    const fams = new Set(st.rules.flatMap((r) => r.handle.consumes.map(classFamily)));
    st.firstFrames.note(tracks, frame, at, (t) => all || fams.has(classFamily(t.label)));
  }

  /**
   * What the model sees in this very frame, for the raise-time re-check: the sample's own
   * detections when the model ran on it; otherwise (the motion gate skipped it, and its pixels
   * went to the worker) one inference on the frame's JPEG, decoded at the model's input size,
   * at most once per frame. null when that inference could not run.
   */
  function currentObjects(
    st: CamState,
    frame: Frame,
    res: Extract<InferenceResult, { status: 'done' }>,
  ): CurrentObjects {
    if (res.inferred) return { objects: res.objects, get: () => Promise.resolve(res.objects) };
    let pending: Promise<DetectedObject[] | null> | null = null;
    return {
      objects: null,
      get: () =>
        (pending ??= (async () => {
          try {
            const rgb = await sharp(frame.jpeg)
              .resize(frame.width, frame.height, { fit: 'fill' })
              .removeAlpha()
              .raw()
              .toBuffer();
            const r = await pool.infer({
              cameraId: `recheck:${st.cam.id}`,
              rgb: new Uint8Array(rgb),
              width: frame.width,
              height: frame.height,
              // The same model as the camera's samples: a re-check must judge with it.
              ...(st.cam.model ? { model: st.cam.model } : {}),
            });
            return r.status === 'done' ? r.objects : null;
          } catch (err) {
            mErrors.inc({ stage: 'recheck' });
            log.error({ err, cameraId: st.cam.id }, 'raise-time re-check could not run; alert held back');
            return null;
          }
        })()),
    };
  }

  async function afterInference(
    st: CamState,
    frame: Frame,
    res: Extract<InferenceResult, { status: 'done' }>,
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
    const current = currentObjects(st, frame, res);
    const results = await Promise.all(
      st.rules.map(async ({ rule, handle }) => {
        const zones: ZoneView[] = st.cam.zones
          .filter((z) => z.rules.includes(rule))
          .map((z) => ({
            id: z.id,
            name: z.name,
            polygon: z.polygon,
            ...(z.gridCode ? { gridCode: z.gridCode } : {}),
          }));
        const input: RuleInput = {
          frame: {
            cameraId: st.cam.id,
            at,
            width: frame.width,
            height: frame.height,
            ...(handle.wantsPixels ? { rgb: frame.rgb } : {}),
          },
          tracks,
          zones,
          active: active.includes(rule),
          inferred: res.inferred,
          dwellFactor: dwellFactorsByZone(st.cam.id, rule, zones),
        };
        return { handle, emissions: await handle.evaluate(input) };
      }),
    );
    for (const { handle, emissions } of results) {
      for (const em of emissions) await handleEmission(st, handle, em, frame, at, seen, current);
    }
    // A rule that skips its key for a sample or two (a flickering detection) has not ended
    // the event: only a gap of several samples does, so one event is not reported twice.
    const graceMs = Math.max(3 * st.cam.samplingIntervalSec * 1_000, 5_000);
    for (const [k, ev] of [...st.events]) {
      if (seen.has(k) || at - ev.lastEmittedAt <= graceMs) continue;
      st.events.delete(k);
      const [type = '', ...rest] = k.split('|');
      emit({ kind: 'end', cameraId: st.cam.id, at, type, key: rest.join('|') });
    }
  }

  return {
    async process(frame, cam) {
      if (closed) throw new ClosedError('detection pipeline');
      const st = await stateFor(cam);
      const at = frame.capturedAt;
      stats.processed++;
      const active = activeRules(st, at);
      const pixels = st.rules.some((r) => r.handle.wantsPixels);
      // Rules that read pixels (fire/smoke) need the frame even when nothing moved; others
      // only need the model when something in their zones changed.
      const gate = config.motion.enabled && !pixels;
      const mask = gate ? maskFor(st, active) : null;
      const jpegCopy = frame;
      let res: InferenceResult;
      let tracks: readonly TrackedObject[] = [];
      if (active.length === 0) {
        res = {
          status: 'done',
          inferred: false,
          objects: [],
          gray: null,
          changed: null,
          area: null,
          inferMs: 0,
        };
        tracks = trackStep(st, res, at, mask);
      } else {
        // The pool transfers the pixel buffer to the worker; rules that read pixels get a copy.
        const rgb = pixels ? new Uint8Array(frame.rgb) : frame.rgb;
        res = await pool.infer({
          cameraId: cam.id,
          rgb,
          width: frame.width,
          height: frame.height,
          ...(cam.model ? { model: cam.model } : {}),
          ...(mask
            ? {
                motion: () => ({
                  ref: st.ref,
                  mask,
                  pixelThreshold: config.motion.pixelThreshold,
                  minChangedCells: requiredCells(config.motion, maskArea(mask)),
                  force:
                    st.doubt ||
                    st.lastInferAt === null ||
                    at - st.lastInferAt >= config.motion.recheckSec * 1_000 ||
                    at < st.lastInferAt,
                }),
              }
            : {}),
          onResult: (r) => {
            if (r.status !== 'done') return;
            if (r.inferred) {
              if (r.gray) st.ref = r.gray;
              st.lastInferAt = at;
            }
            tracks = trackStep(st, r, at, mask);
          },
        });
      }
      if (res.status === 'dropped') {
        stats.dropped++;
        emit({ kind: 'dropped', cameraId: cam.id, at });
        return;
      }
      if (res.inferred) stats.inferred++;
      else stats.skipped++;
      const done = res;
      const run = st.chain.then(() => afterInference(st, jpegCopy, done, tracks, at, active));
      st.chain = run.catch((err: unknown) => {
        mErrors.inc({ stage: 'frame' });
        lastError = err instanceof Error ? err.message : String(err);
        log.error({ err, cameraId: cam.id }, 'frame processing failed');
      });
      await run;
    },
    async update(cameras) {
      if (closed) throw new ClosedError('detection pipeline');
      const ids = new Set(cameras.filter((c) => c.enabled).map((c) => c.id));
      for (const [id, st] of states) {
        if (ids.has(id)) continue;
        states.delete(id);
        await closeRules(st.rules);
      }
      for (const c of cameras) if (c.enabled) await stateFor(c);
    },
    setSuppressions(list) {
      suppressions = [...list];
    },
    typeInfos: () => plugins.typeInfos(),
    health() {
      return {
        cameras: states.size,
        framesProcessed: stats.processed,
        framesInferred: stats.inferred,
        framesSkippedByMotion: stats.skipped,
        framesDropped: stats.dropped,
        findingsSubmitted: stats.findings,
        lastError,
        pool: pool.health(),
        plugins: plugins.status(),
      };
    },
    async recheck(frame, alert) {
      if (closed) throw new ClosedError('detection pipeline');
      const model = states.get(alert.cameraId)?.cam.model;
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
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...states.values()].map((s) => s.chain));
      await Promise.all([...states.values()].map((s) => closeRules(s.rules)));
      states.clear();
    },
  };
}

/**
 * Changed cells that wake the model: a share of the zone, so codec noise and a swaying person
 * in a big zone do not, but never more than MAX_REQUIRED_CELLS, about what one distant
 * pedestrian (vtest.avi, ~3×11 cells at 80×60) changes between samples.
 */
const MAX_REQUIRED_CELLS = 20;
function requiredCells(m: DetectorsConfig['motion'], area: number): number {
  return Math.max(m.minChangedCells, Math.min(MAX_REQUIRED_CELLS, Math.round(m.minChangedShare * area)));
}

const areas = new WeakMap<Uint8Array, number>();
function maskArea(mask: Uint8Array): number {
  let a = areas.get(mask);
  if (a === undefined) {
    a = mask.reduce((s, v) => s + v, 0);
    areas.set(mask, a);
  }
  return a;
}

function touchesMask(b: NBox, mask: Uint8Array): boolean {
  const x0 = Math.max(0, Math.floor(b.x1 * GRID_W));
  const x1 = Math.min(GRID_W - 1, Math.floor(b.x2 * GRID_W));
  const y0 = Math.max(0, Math.floor(b.y1 * GRID_H));
  const y1 = Math.min(GRID_H - 1, Math.floor(b.y2 * GRID_H));
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (mask[y * GRID_W + x]) return true;
  return false;
}

/**
 * Present when, for some box of the alert, a detection of the same class family overlaps it
 * (IoU ≥ 0.3, or its centre inside the alert box: a parked car's box jitters between samples).
 */
export function matchRecheck(
  objects: readonly DetectedObject[],
  boxes: ReadonlyArray<NBox & { label: string }>,
): { present: boolean; score: number } {
  let score = 0;
  for (const b of boxes) {
    for (const o of objects) {
      if (classFamily(o.label) !== classFamily(b.label)) continue;
      const cx = (o.box.x1 + o.box.x2) / 2;
      const cy = (o.box.y1 + o.box.y2) / 2;
      const inside = cx >= b.x1 && cx <= b.x2 && cy >= b.y1 && cy <= b.y2;
      if (inside || iou(o.box, b) >= 0.3) score = Math.max(score, o.score);
    }
  }
  return { present: score > 0, score };
}
