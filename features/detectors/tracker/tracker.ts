/**
 * Per-camera object tracker for sparse samples (one every 1-5 s), judged in seconds.
 *
 * Why not SORT/ByteTrack as-is: at one sample every few seconds a walking person moves several
 * body lengths, so motion models predict nothing useful; what matters for the rules is that
 * things which stay (parked vehicles, vendors, gatherings) keep one identity while detections
 * flicker (vehicle scores on street views are 0.35-0.45) and people walk in front of them, and
 * that a person who leaves ends their track instead of handing it to the next person at the spot.
 * So: greedy one-to-one matching, IoU first, a short centre-distance fallback second, only
 * within a class family; an unmatched track survives a grace in seconds (not samples, so a
 * camera sampled every second and one sampled every 5 s behave alike); stationarity is judged
 * against an anchor box with an image-relative radius and a minimum still time.
 */
import { z } from 'zod';
import type { DetectedObject, NBox, TrackedObject } from '../plugin-api/contract.js';
import { ValidationError } from '../../../core/errors.js';
import { zodIssues } from '../../../core/config/zod-issues.js';

export const TrackerOptionsSchema = z
  .strictObject({
    iouThreshold: z
      .number()
      .min(0.01)
      .max(0.95)
      .default(0.3)
      .describe('Minimum IoU between a track box and a detection to match them'),
    maxJump: z
      .number()
      .min(0)
      .max(5)
      .default(0.6)
      .describe(
        'Fallback when IoU is too low: match if the centres are closer than this many box sizes (0 disables)',
      ),
    graceSec: z
      .number()
      .min(0)
      .max(3_600)
      .default(15)
      .describe(
        'Seconds a moving (non-person) track survives without a match; samples the motion gate skipped count as time passed',
      ),
    graceStationarySec: z
      .number()
      .min(0)
      .max(3_600)
      .default(15)
      .describe(
        'Seconds a stationary vehicle or object survives without a match: parked vehicles flicker below the score threshold and get occluded by passers-by (15 s = two missed samples at the default 5 s sampling; on highway-traffic.avi sampled every second, more than 2 s chained different cars passing one spot into one "parked" track)',
      ),
    gracePersonSec: z
      .number()
      .min(0)
      .max(3_600)
      .default(3)
      .describe(
        'Seconds a person track survives without a match, standing or not: on one-by-one-person-detection.mp4 the next visitor steps into the same spot 4-6 s after the last one left, and a longer grace hands them the previous track and its dwell',
      ),
    stationaryRadius: z
      .number()
      .min(0)
      .max(1)
      .default(0.03)
      .describe(
        'A track is stationary while the centre of its box stays within this distance of its anchor, in frame units (1 = the frame width/height); image-relative, so a near walker fails it as surely as a far one',
      ),
    stationaryMinSec: z
      .number()
      .min(0)
      .max(3_600)
      .default(2)
      .describe(
        'Seconds the box must stay within stationaryRadius before the track counts as stationary (at 1 s sampling a slow step stays within the radius for one sample)',
      ),
    scoreWindow: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(9)
      .describe(
        'The track score is the median of the scores of its last this-many detections (one weak or one lucky frame does not decide)',
      ),
    smoothing: z
      .number()
      .min(0.05)
      .max(1)
      .default(0.5)
      .describe('Weight of the newest detection in the smoothed box (1 = no smoothing)'),
    minScore: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe('Detections below this score neither match nor start tracks'),
    idPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_:-]{0,32}$/)
      .default('t')
      .describe('Prefix of track ids (ids are unique per tracker instance)'),
  })
  .describe('Tracker tuning');
export type TrackerOptions = z.input<typeof TrackerOptionsSchema>;

export interface Tracker {
  /** A sample the model ran on: match, create, age and drop tracks; returns the live tracks. */
  update(objects: readonly DetectedObject[], at: number): TrackedObject[];
  /**
   * A sample the motion gate skipped. Time passes for tracks that were missed at the last
   * inferred sample (a person who left is gone after gracePersonSec, whether or not the model
   * ran since); a track seen at the last inferred sample is held, because the gate skips only
   * when nothing changed in the zones, so what stood there still stands (a parked car in a
   * quiet street keeps its dwell). Returns the live tracks.
   */
  carry(at: number): TrackedObject[];
  /** Live tracks now (copies). */
  tracks(): TrackedObject[];
}

/** CenterNet swaps these labels on the same vehicle between samples (the van is 'truck' or 'car'). */
const VEHICLE_FAMILY = new Set(['car', 'truck', 'bus', 'motorcycle', 'van']);

export function classFamily(label: string): string {
  return VEHICLE_FAMILY.has(label) ? 'vehicle' : label;
}

export function iou(a: NBox, b: NBox): number {
  const ix = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const iy = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = ix * iy;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

function area(b: NBox): number {
  return Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
}

function size(b: NBox): number {
  return Math.max(b.x2 - b.x1, b.y2 - b.y1, 1e-6);
}

function centreDistance(a: NBox, b: NBox): number {
  return Math.hypot((a.x1 + a.x2 - b.x1 - b.x2) / 2, (a.y1 + a.y2 - b.y1 - b.y2) / 2);
}

interface TrackState {
  trackId: string;
  family: string;
  /** Accumulated score per label: the track's label is the strongest one, not the latest. */
  labelScores: Map<string, number>;
  /** Scores of the last `scoreWindow` detections; the track score is their median. */
  scores: number[];
  box: NBox;
  lastRaw: NBox;
  firstSeen: number;
  lastSeen: number;
  /**
   * Last time the track was known to be there: its last detection, or a later gated sample
   * that held it (nothing changed where it stood). Grace counts from here.
   */
  confirmedAt: number;
  anchor: { box: NBox; at: number };
  stationarySince: number | null;
  missed: number;
  hits: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function createTracker(opts: TrackerOptions = {}): Tracker {
  const parsed = TrackerOptionsSchema.safeParse(opts);
  if (!parsed.success) {
    throw new ValidationError('tracker options', zodIssues('tracker options', parsed.error, opts));
  }
  const o = parsed.data;
  let live: TrackState[] = [];
  let nextId = 1;
  let lastAt = -Infinity;

  function view(t: TrackState): TrackedObject {
    let label = '';
    let best = -1;
    for (const [l, s] of t.labelScores) {
      if (s > best) {
        best = s;
        label = l;
      }
    }
    return {
      trackId: t.trackId,
      label,
      score: median(t.scores),
      box: { ...t.box },
      firstSeen: t.firstSeen,
      lastSeen: t.lastSeen,
      stationarySince: t.stationarySince,
      missed: t.missed,
      hits: t.hits,
    };
  }

  /** Match priority: any IoU match beats any distance match, so the fallback never steals. */
  function matchScore(t: TrackState, d: DetectedObject): number {
    if (t.family !== classFamily(d.label)) return 0;
    const ov = iou(t.lastRaw, d.box);
    if (ov >= o.iouThreshold) return 1 + ov;
    if (o.maxJump <= 0) return 0;
    const ratio = area(d.box) / Math.max(area(t.lastRaw), 1e-9);
    if (ratio < 0.5 || ratio > 2) return 0;
    const gate = o.maxJump * size(t.lastRaw);
    const dist = centreDistance(t.lastRaw, d.box);
    return dist < gate ? 1 - dist / gate : 0;
  }

  function checkClock(at: number): void {
    if (!Number.isFinite(at))
      throw new ValidationError('tracker', [issue('at', 'a finite ms timestamp', at)]);
    // A clock going backwards would make dwell times negative; offline analysis restarts a
    // tracker per video, so this only happens on a programming error.
    if (at < lastAt) {
      throw new ValidationError('tracker', [
        issue('at', `a time not before the previous sample (${lastAt})`, at),
      ]);
    }
    lastAt = at;
  }

  function absorb(t: TrackState, d: DetectedObject, at: number): void {
    const a = o.smoothing;
    t.box = {
      x1: t.box.x1 + a * (d.box.x1 - t.box.x1),
      y1: t.box.y1 + a * (d.box.y1 - t.box.y1),
      x2: t.box.x2 + a * (d.box.x2 - t.box.x2),
      y2: t.box.y2 + a * (d.box.y2 - t.box.y2),
    };
    t.scores.push(d.score);
    if (t.scores.length > o.scoreWindow) t.scores.shift();
    t.labelScores.set(d.label, (t.labelScores.get(d.label) ?? 0) + d.score);
    t.lastRaw = { ...d.box };
    t.lastSeen = at;
    t.confirmedAt = at;
    t.missed = 0;
    t.hits += 1;
    // Judged on the raw box against the anchor, so slow drift adds up instead of being
    // smoothed away. The radius is in frame units, not box sizes: with a box-relative
    // tolerance a near person (box 0.9 of the frame high) could walk 0.23 of the frame and
    // still count as standing, so their dwell started while they walked in.
    if (centreDistance(t.anchor.box, d.box) <= o.stationaryRadius) {
      t.stationarySince = at - t.anchor.at >= o.stationaryMinSec * 1_000 ? t.anchor.at : null;
    } else {
      t.anchor = { box: { ...d.box }, at };
      t.stationarySince = null;
    }
  }

  function graceMs(t: TrackState): number {
    if (t.family === 'person') return o.gracePersonSec * 1_000;
    return (t.stationarySince === null ? o.graceSec : o.graceStationarySec) * 1_000;
  }

  return {
    update(objects, at) {
      checkClock(at);
      const dets = objects.filter((d) => d.score >= o.minScore && validBox(d.box));
      // A track already missed whose grace ran out is over before matching: otherwise whoever
      // appears near it next (the next visitor at a counter) would inherit it and its dwell.
      // A track seen or held at the last sample is always offered a match, so a grace shorter
      // than the sampling interval does not end every track at every sample.
      live = live.filter((t) => t.missed === 0 || at - t.confirmedAt <= graceMs(t));
      const pairs: Array<{ ti: number; di: number; s: number }> = [];
      for (let ti = 0; ti < live.length; ti++) {
        const t = live[ti]!;
        for (let di = 0; di < dets.length; di++) {
          const s = matchScore(t, dets[di]!);
          if (s > 0) pairs.push({ ti, di, s });
        }
      }
      // Greedy by score; ties go to the older track (lower index) so results are deterministic.
      pairs.sort((p, q) => q.s - p.s || p.ti - q.ti || p.di - q.di);
      const usedT = new Set<number>();
      const usedD = new Set<number>();
      for (const p of pairs) {
        if (usedT.has(p.ti) || usedD.has(p.di)) continue;
        usedT.add(p.ti);
        usedD.add(p.di);
        absorb(live[p.ti]!, dets[p.di]!, at);
      }
      const kept: TrackState[] = [];
      for (let ti = 0; ti < live.length; ti++) {
        const t = live[ti]!;
        if (!usedT.has(ti)) {
          t.missed += 1;
          if (at - t.confirmedAt > graceMs(t)) continue;
        }
        kept.push(t);
      }
      for (let di = 0; di < dets.length; di++) {
        if (usedD.has(di)) continue;
        const d = dets[di]!;
        kept.push({
          trackId: `${o.idPrefix}${nextId++}`,
          family: classFamily(d.label),
          labelScores: new Map([[d.label, d.score]]),
          scores: [d.score],
          box: { ...d.box },
          lastRaw: { ...d.box },
          firstSeen: at,
          lastSeen: at,
          confirmedAt: at,
          anchor: { box: { ...d.box }, at },
          stationarySince: o.stationaryMinSec <= 0 ? at : null,
          missed: 0,
          hits: 1,
        });
      }
      live = kept;
      return live.map(view);
    },
    carry(at) {
      checkClock(at);
      live = live.filter((t) => t.missed === 0 || at - t.confirmedAt <= graceMs(t));
      // A held track has not moved (nothing changed where it stands): time still counts
      // towards stationaryMinSec, or a person who stopped just before the gate closed would
      // only count as standing at the next inferred sample, many seconds later.
      for (const t of live) {
        if (t.missed > 0) continue;
        t.confirmedAt = at;
        if (t.stationarySince === null && at - t.anchor.at >= o.stationaryMinSec * 1_000)
          t.stationarySince = t.anchor.at;
      }
      return live.map(view);
    },
    tracks() {
      return live.map(view);
    },
  };
}

function validBox(b: NBox): boolean {
  return [b.x1, b.y1, b.x2, b.y2].every(Number.isFinite) && b.x2 > b.x1 && b.y2 > b.y1;
}

function issue(path: string, expected: string, found: unknown) {
  return { source: 'tracker', path, expected, found: String(found), message: `expected ${expected}` };
}
