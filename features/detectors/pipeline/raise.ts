import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { Logger } from 'pino';
import type { EvidenceStore } from '../../../core/contracts/evidence-store.js';
import {
  FindingSchema,
  type Finding,
  type FindingSink,
  type RaiseWhy,
} from '../../../core/contracts/finding.js';
import type { Frame } from '../../../core/contracts/frame.js';
import { zodIssuesText } from '../../../core/config/zod-issues.js';
import type { DetectedObject, NBox, RuleEmission } from '../plugin-api/contract.js';
import { drawEvidence } from '../evidence/draw-evidence.js';
import type { RuleHandle } from '../loader/plugin-loader.js';
import type { InferencePool } from '../model/inference-pool.js';
import { classFamily, iou } from '../tracker/tracker.js';
import type { CameraState } from './camera-state.js';
import type { PipelineEvent } from './detection-pipeline.js';
import type { PipelineMetrics, PipelineStats } from './pipeline-metrics.js';
import type { DoneResult } from './tracking-step.js';

/** What the model sees in the sample's frame, for the raise-time re-check. */
export interface CurrentObjects {
  /** The sample's own detections when the model ran on it, else null (inferred on demand). */
  objects: readonly DetectedObject[] | null;
  get(): Promise<readonly DetectedObject[] | null>;
}

export interface RaiserDeps {
  refreshSec: number;
  pool: InferencePool;
  evidence: EvidenceStore;
  findingSink: FindingSink;
  timeZone: string;
  log: Logger;
  m: PipelineMetrics;
  stats: PipelineStats;
  emit: (e: PipelineEvent) => void;
  /** Finding-type colours for the evidence drawing. */
  colors: () => ReadonlyMap<string, string | undefined>;
  isSuppressed: (cameraId: string, type: string, zoneId: string | null) => boolean;
}

export interface Raiser {
  /**
   * One rule emission: suppression, dedup against the camera's open events and the refresh
   * interval, the raise-time re-check for a new alert, evidence (raise frame, first-seen frame),
   * the finding with why it was raised, submitted to the sink.
   */
  handle(
    st: CameraState,
    h: RuleHandle,
    em: RuleEmission,
    frame: Frame,
    at: number,
    seen: Set<string>,
    current: CurrentObjects,
  ): Promise<void>;
  currentObjects(st: CameraState, frame: Frame, res: DoneResult): CurrentObjects;
}

const hash = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 12);
const clamp01 = (v: number) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0);

/** Raise and re-check: from a rule's emission to a finding on the dispatcher's queue. */
export function createRaiser(d: RaiserDeps): Raiser {
  const { m, stats, timeZone, log } = d;

  async function storeEvidence(
    name: string,
    frame: Pick<Frame, 'jpeg' | 'jpegWidth' | 'jpegHeight'>,
    st: CameraState,
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
      const color = d.colors().get(em.type);
      const jpeg = await drawEvidence(frame.jpeg, frame.jpegWidth, frame.jpegHeight, {
        zones: zones.map((z) => ({ name: z.name, polygon: z.polygon })),
        boxes,
        caption,
        ...(color ? { color } : {}),
      });
      return await d.evidence.put(name, jpeg, at);
    } catch (err) {
      m.errors.inc({ stage: 'evidence' });
      stats.lastError = `evidence: ${err instanceof Error ? err.message : String(err)}`;
      log.error(
        { err, cameraId: st.cam.id, type: em.type },
        'could not store evidence; submitting the finding without it',
      );
      return null;
    }
  }

  function toFinding(
    st: CameraState,
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
    m.errors.inc({ stage: 'finding_schema' });
    stats.lastError = `plugin ${h.plugin} emitted an invalid finding: ${zodIssuesText(r.error)}`;
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
  async function storeFirstSeen(name: string, st: CameraState, em: RuleEmission): Promise<string | null> {
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
    st: CameraState,
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
    st: CameraState,
    h: RuleHandle,
    em: RuleEmission,
    frame: Frame,
    at: number,
    seen: Set<string>,
    current: CurrentObjects,
  ): Promise<void> {
    const evKey = `${em.type}|${em.key}`;
    seen.add(evKey);
    d.emit({ kind: 'emission', cameraId: st.cam.id, at, plugin: h.plugin, emission: em });
    if (d.isSuppressed(st.cam.id, em.type, em.zoneId)) {
      m.suppressed.inc({ type: em.type });
      return;
    }
    const open = st.events.get(evKey);
    if (open) open.lastEmittedAt = at;
    if (open && at - open.lastSubmitAt < d.refreshSec * 1_000) return;
    // 二次识别 at raise time: a dwell is judged over minutes of tracking, and a track can
    // outlive its object by its grace (or by samples the motion gate held). Before a new
    // alert, the object must be seen in the current frame by the model. Rules on pixels
    // (fire/smoke) and emissions without boxes have nothing the model could confirm.
    let recheckScore: number | null = null;
    if (!open && !h.wantsPixels && em.boxes.length > 0) {
      const fresh = current.objects === null;
      const objects = await current.get();
      const r = objects === null ? { present: false, score: 0 } : matchRecheck(objects, em.boxes);
      d.emit({ kind: 'recheck', cameraId: st.cam.id, at, type: em.type, key: em.key, ...r, fresh });
      if (!r.present) {
        m.rechecks.inc({ type: em.type, result: 'absent' });
        log.debug({ cameraId: st.cam.id, type: em.type, key: em.key }, 're-check found nothing: not raised');
        return;
      }
      m.rechecks.inc({ type: em.type, result: 'present' });
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
      await d.findingSink.submit(finding);
    } catch (err) {
      // Not marked submitted: the next frame that still shows the event tries again.
      m.errors.inc({ stage: 'sink' });
      stats.lastError = `finding sink: ${err instanceof Error ? err.message : String(err)}`;
      log.error({ err, findingId: id }, 'finding sink refused the finding; will retry on the next frame');
      return;
    }
    st.events.set(evKey, { baseId, firstSeen, lastSubmitAt: at, firstEvidence: first, lastEmittedAt: at });
    stats.findings++;
    m.findings.inc({ type: em.type, kind: refresh ? 'refresh' : 'first' });
    d.emit({ kind: 'finding', cameraId: st.cam.id, at, finding, refresh, key: em.key });
  }

  /**
   * What the model sees in this very frame, for the raise-time re-check: the sample's own
   * detections when the model ran on it; otherwise (the motion gate skipped it, and its pixels
   * went to the worker) one inference on the frame's JPEG, decoded at the model's input size,
   * at most once per frame. null when that inference could not run.
   */
  function currentObjects(st: CameraState, frame: Frame, res: DoneResult): CurrentObjects {
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
            const r = await d.pool.infer({
              cameraId: `recheck:${st.cam.id}`,
              rgb: new Uint8Array(rgb),
              width: frame.width,
              height: frame.height,
              // The same model as the camera's samples: a re-check must judge with it.
              ...(st.cam.model ? { model: st.cam.model } : {}),
            });
            return r.status === 'done' ? r.objects : null;
          } catch (err) {
            m.errors.inc({ stage: 'recheck' });
            log.error({ err, cameraId: st.cam.id }, 'raise-time re-check could not run; alert held back');
            return null;
          }
        })()),
    };
  }
  return { handle: handleEmission, currentObjects };
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
