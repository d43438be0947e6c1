import type { RuleEmission, TrackedObject } from '../plugin-api/contract.js';

/** Emission box for a track (what the evidence JPEG draws). */
export function boxOf(t: TrackedObject): RuleEmission['boxes'][number] {
  return { ...t.box, label: t.label, score: round(t.score), trackId: t.trackId };
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/**
 * The emission for one tracked object in one zone, as every object rule raises it: the track's
 * median score, its box, the dwell start and the sample time. Rules add `placeKey` and details.
 */
export function trackEmission(
  type: string,
  t: TrackedObject,
  zone: { id: string },
  key: string,
  start: number,
  at: number,
): RuleEmission {
  return {
    type,
    key,
    zoneId: zone.id,
    score: round(t.score),
    trackIds: [t.trackId],
    boxes: [boxOf(t)],
    firstSeen: start,
    lastSeen: at,
  };
}
