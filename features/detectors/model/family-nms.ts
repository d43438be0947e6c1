import type { DetectedObject, NBox } from '../plugin-api/contract.js';
import { classFamily, iou } from '../tracker/tracker.js';

export interface Candidate {
  label: string;
  score: number;
  /** Normalised to the frame. */
  box: NBox;
}

const clamp = (v: number) => Math.min(1, Math.max(0, v));

/**
 * Greedy NMS per class family (the tracker's: car/truck/bus/motorcycle are one family), shared
 * by the built-in models. Not class-agnostic: a person standing in front of a parked van
 * overlaps it heavily, and class-agnostic NMS would drop one of the two. Not per class either:
 * on vtest.avi the van comes out as both 'truck' and 'car' at one place, which made two tracks
 * and two parking events for one vehicle. Boxes are clamped to the frame, scores rounded to
 * 0.001 (the tracker and rules compare thresholds, never more digits).
 */
export function familyNms(cands: Candidate[], minScore: number, iouThreshold: number): DetectedObject[] {
  const sorted = cands.filter((c) => c.score >= minScore).sort((a, b) => b.score - a.score);
  const kept: Array<{ c: Candidate; fam: string }> = [];
  for (const c of sorted) {
    const fam = classFamily(c.label);
    if (kept.some((k) => k.fam === fam && iou(k.c.box, c.box) > iouThreshold)) continue;
    kept.push({ c, fam });
  }
  return kept.map(({ c }) => ({
    label: c.label,
    score: Math.round(c.score * 1000) / 1000,
    box: { x1: clamp(c.box.x1), y1: clamp(c.box.y1), x2: clamp(c.box.x2), y2: clamp(c.box.y2) },
  }));
}
