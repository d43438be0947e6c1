import type { Frame } from '../../../core/contracts/frame.js';
import type { TrackedObject } from '../plugin-api/contract.js';
import type { InferenceResult } from '../model/inference-pool.js';
import { classFamily } from '../tracker/tracker.js';
import type { CameraState } from './camera-state.js';
import { touchesMask } from './motion-gate.js';

export type DoneResult = Extract<InferenceResult, { status: 'done' }>;

/** Whether some rule of the camera reads objects of this label (a rule reading none reads all). */
function readsLabel(st: CameraState): (label: string) => boolean {
  const all = st.rules.some((r) => r.handle.consumes.length === 0);
  const fams = new Set(st.rules.flatMap((r) => r.handle.consumes.map(classFamily)));
  return (label) => all || fams.has(classFamily(label));
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
export function trackStep(
  st: CameraState,
  res: DoneResult,
  at: number,
  mask: Uint8Array | null,
): readonly TrackedObject[] {
  const tracks = res.inferred ? st.tracker.update(res.objects, at) : st.tracker.carry(at);
  if (mask === null) {
    st.doubt = false;
    return tracks;
  }
  // Only labels some rule reads count (a flickering 'frisbee' on a table top does not).
  const reads = readsLabel(st);
  st.doubt = tracks.some((t) => reads(t.label) && (t.missed > 0 || t.hits < 3) && touchesMask(t.box, mask));
  return tracks;
}

/** Remembers the first frame of new tracks of a class some rule reads. */
export function noteFirstFrames(
  st: CameraState,
  frame: Frame,
  tracks: readonly TrackedObject[],
  at: number,
): void {
  const reads = readsLabel(st);
  st.firstFrames.note(tracks, frame, at, (t) => reads(t.label));
}
