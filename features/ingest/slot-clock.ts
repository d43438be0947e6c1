/**
 * Sample timing of one persistent connection, without I/O: which interval slot a frame belongs
 * to, when that slot was due on the wall clock, and how late the frame is, split into the
 * delivery delay (arrival beyond the best case seen on this connection) and the keyframe wait
 * (how far into its slot the picked keyframe sits in stream time).
 *
 * The slot grid is the one the reader's keyframe picker uses (`slotIndex` in ffmpeg-sampler.ts,
 * evaluated in ffmpeg by `keyframePickerExpr`): it starts at the first kept frame and never
 * moves. Only the mapping from stream time to wall time (the anchor) may move, and only when
 * stream time jumps forward by more than half an interval (ffmpeg re-bases RTP timestamps on the
 * first RTCP sender report). An earlier version restarted the node's grid on any 0.5 s drop while
 * the picker kept its own, so the two disagreed by a constant for the rest of the connection and
 * every later frame counted up to an interval late (docs/decisions.md, "the 300-camera cliff").
 */
import { slotIndex } from './ffmpeg-sampler.js';

export type FrameTiming = 'on_time' | 'late' | 'duplicate';

export interface SlotTiming {
  slot: number;
  /** Wall-clock time the slot was due (ms). */
  scheduledAt: number;
  /** Arrival beyond the best-case stream-to-wall mapping of this connection (ms, ≥ 0). */
  deliveryMs: number;
  /** Stream time from the slot's start to the picked keyframe (ms, ≥ 0; a frame picked early waits 0). */
  keyframeWaitMs: number;
  /** Arrival minus due time (ms, ≥ 0) = delivery delay + keyframe wait. */
  lagMs: number;
  /**
   * duplicate: a second frame for a slot already served (not counted as lag); late: lag beyond
   * half the interval (the frame is nearer the next slot's due time than its own).
   */
  kind: FrameTiming;
  /** Slots passed over without a frame since the previous one. */
  skippedSlots: number;
  /** The anchor moved because stream time jumped forward. */
  reanchored: boolean;
}

export interface SlotClock {
  observe(ptsSec: number, arrivedAt: number): SlotTiming;
  counts(): { frames: number; late: number; duplicate: number; skipped: number; reanchors: number };
}

export function createSlotClock(intervalSec: number): SlotClock {
  const intervalMs = intervalSec * 1000;
  let pts0: number | null = null;
  let anchor = 0;
  let lastSlot: number | null = null;
  const c = { frames: 0, late: 0, duplicate: 0, skipped: 0, reanchors: 0 };
  return {
    observe(ptsSec, arrivedAt) {
      c.frames++;
      const offset = arrivedAt - ptsSec * 1000;
      let reanchored = false;
      if (pts0 === null) {
        pts0 = ptsSec;
        anchor = offset;
      } else if (offset < anchor - intervalMs / 2) {
        // A late delivery only raises the offset; a drop this large means stream time jumped.
        anchor = offset;
        reanchored = true;
        c.reanchors++;
      } else {
        // The first frames are often late (ffmpeg probes first): keep the best case seen.
        anchor = Math.min(anchor, offset);
      }
      const slot = slotIndex(ptsSec, pts0, intervalSec);
      const slotPtsMs = (pts0 + slot * intervalSec) * 1000;
      const scheduledAt = anchor + slotPtsMs;
      const deliveryMs = Math.max(0, offset - anchor);
      const keyframeWaitMs = Math.max(0, ptsSec * 1000 - slotPtsMs);
      const lagMs = Math.max(0, arrivedAt - scheduledAt);
      let kind: FrameTiming = lagMs > intervalMs / 2 ? 'late' : 'on_time';
      let skippedSlots = 0;
      if (lastSlot !== null && slot <= lastSlot) kind = 'duplicate';
      else if (lastSlot !== null) skippedSlots = slot - lastSlot - 1;
      if (kind !== 'duplicate') lastSlot = slot;
      if (kind === 'late') c.late++;
      if (kind === 'duplicate') c.duplicate++;
      c.skipped += skippedSlots;
      return { slot, scheduledAt, deliveryMs, keyframeWaitMs, lagMs, kind, skippedSlots, reanchored };
    },
    counts: () => ({ ...c }),
  };
}
