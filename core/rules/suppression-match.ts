import type { Suppression } from '../contracts/suppression.js';

/**
 * The one definition of suppression semantics, used by the alert engine (dispatcher) and the
 * detection pipeline (detectors):
 *   - a suppression applies to its camera and rule (type) only;
 *   - with a zone, to findings in that zone only;
 *   - without a zone (zoneId null), to every zone of the camera and to camera-wide findings.
 */
export interface SuppressionTarget {
  cameraId: string;
  /** null for a camera-wide finding. */
  zoneId: string | null;
  type: string;
}

type Rule = Pick<Suppression, 'cameraId' | 'zoneId' | 'type'>;

export function suppressionApplies(s: Rule, t: SuppressionTarget): boolean {
  return s.cameraId === t.cameraId && s.type === t.type && (s.zoneId === null || s.zoneId === t.zoneId);
}

/** True when a `suppress` suppression applies: no alert is raised. */
export function isSuppressed(
  list: readonly Pick<Suppression, 'cameraId' | 'zoneId' | 'type' | 'action'>[],
  t: SuppressionTarget,
): boolean {
  return list.some((s) => s.action === 'suppress' && suppressionApplies(s, t));
}

/**
 * The dwell multiplier for a target: the largest `raise_dwell` factor that applies, never below
 * 1. A broken factor (0, negative, NaN) is ignored rather than trusted: it would shorten the
 * dwell, and 0 would make every sample alarm.
 */
export function dwellFactorFor(
  list: readonly Pick<Suppression, 'cameraId' | 'zoneId' | 'type' | 'action' | 'dwellFactor'>[],
  t: SuppressionTarget,
): number {
  let f = 1;
  for (const s of list) {
    if (s.action !== 'raise_dwell' || !suppressionApplies(s, t)) continue;
    if (Number.isFinite(s.dwellFactor) && s.dwellFactor > f) f = s.dwellFactor;
  }
  return f;
}
