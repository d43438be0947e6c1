import { isScheduleActive } from '../../../core/config/schedule.js';
import type { NBox } from '../plugin-api/contract.js';
import type { DetectorsConfig } from '../config/detectors-config.js';
import type { MotionRequest } from '../model/protocol.js';
import { GRID_H, GRID_W, zoneMask } from '../motion/motion.js';
import type { CameraState } from './camera-state.js';

/** Rules whose schedule window is open at `at`. */
export function activeRules(st: CameraState, at: number, timeZone: string): string[] {
  return st.rules.filter((r) => isScheduleActive(st.cam.schedules[r.rule], at, timeZone)).map((r) => r.rule);
}

/** Union of the zones the active rules look at; a rule without zones looks at the whole image. */
export function maskFor(st: CameraState, active: readonly string[]): Uint8Array {
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

/**
 * The gate's question for the worker, asked when the frame is dispatched (so it sees the
 * tracker step of the camera's previous frame): compare with the last inferred frame, and
 * force the model while a track is in doubt, at the first frame, every recheckSec, and when
 * the clock went back.
 */
export function motionRequest(
  st: CameraState,
  mask: Uint8Array,
  at: number,
  m: DetectorsConfig['motion'],
): MotionRequest {
  return {
    ref: st.ref,
    mask,
    pixelThreshold: m.pixelThreshold,
    minChangedCells: requiredCells(m, maskArea(mask)),
    force:
      st.doubt ||
      st.lastInferAt === null ||
      at - st.lastInferAt >= m.recheckSec * 1_000 ||
      at < st.lastInferAt,
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

export function touchesMask(b: NBox, mask: Uint8Array): boolean {
  const x0 = Math.max(0, Math.floor(b.x1 * GRID_W));
  const x1 = Math.min(GRID_W - 1, Math.floor(b.x2 * GRID_W));
  const y0 = Math.max(0, Math.floor(b.y1 * GRID_H));
  const y1 = Math.min(GRID_H - 1, Math.floor(b.y2 * GRID_H));
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (mask[y * GRID_W + x]) return true;
  return false;
}
