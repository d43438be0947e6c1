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
