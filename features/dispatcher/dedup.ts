import { z } from 'zod';
import type { Alert } from '../../core/contracts/alert.js';
import { isOpenState } from '../../core/contracts/alert-states.js';
import { BoxSchema, type Box, type Finding } from '../../core/contracts/finding.js';

/**
 * What makes a finding "the same event" as an alert, as pure functions (tested alone and
 * through the engine against real Redis).
 *
 * Heuristic: two boxes are the same object when their IoU is at least SAME_OBJECT_IOU. A
 * parked vehicle's box jitters by a few per cent between samples (IoU well above 0.5); a
 * different vehicle in the next bay overlaps far less. Not measured on labelled footage yet.
 */
export const SAME_OBJECT_IOU = 0.3;

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const iy = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = ix * iy;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Same object: a shared track id, an overlapping box, or (both without boxes) the same camera-wide condition. */
export function sameObject(
  a: { boxes: readonly Box[]; trackIds: readonly string[] },
  f: { boxes: readonly Box[]; trackIds: readonly string[] },
): boolean {
  if (a.trackIds.some((t) => f.trackIds.includes(t))) return true;
  if (a.boxes.length === 0 && f.boxes.length === 0) return true;
  return a.boxes.some((x) => f.boxes.some((y) => iou(x, y) >= SAME_OBJECT_IOU));
}

/**
 * Whether a finding merges into the alert its dedup key points at. Never into an alert that is
 * not open (rejected, closed): that decision is the operator's or the platform's and stands.
 * Into an open alert: when within the window of its last sighting, or, however long the gap
 * (Redis or the node away for longer than the window), when it is the same object.
 */
export function mergesInto(open: Alert, f: Finding, windowMs: number): boolean {
  if (!isOpenState(open.state)) return false;
  return f.lastSeen - open.lastSeen <= windowMs || sameObject(open, f);
}

/**
 * An object an operator rejected (same camera, zone, rule): stored in Redis per
 * camera|zone|type, one hash field per rejected alert, parsed with this schema on read.
 */
export const RejectedObjectSchema = z
  .strictObject({
    alertId: z.string().min(1).max(200).describe('The rejected alert'),
    boxes: z.array(BoxSchema).max(100).describe('Where the object was'),
    trackIds: z.array(z.string().max(64)).max(100).describe('Its track ids'),
    lastSeen: z.number().int().nonnegative().describe('ms since epoch: the object was last seen then'),
  })
  .describe('A rejected object that must not be raised again while it stays');
export type RejectedObject = z.infer<typeof RejectedObjectSchema>;

export function rejectedObjectOf(a: Alert): RejectedObject {
  return { alertId: a.id, boxes: a.boxes, trackIds: a.trackIds, lastSeen: a.lastSeen };
}

/**
 * The rejected object a finding is, if any: the same object (track or overlapping box) that
 * has stayed, i.e. whose condition began before the rejected one was last seen, or at most
 * `gapMs` after (a track restarted on another node, a missed sample). A new object in the same
 * place began after the rejected one left, later than that: it is raised.
 */
export function matchRejected(
  list: readonly RejectedObject[],
  f: Finding,
  gapMs: number,
): RejectedObject | null {
  for (const r of list) {
    if (!sameObject(r, f)) continue;
    const sharesTrack = r.trackIds.some((t) => f.trackIds.includes(t));
    if (sharesTrack || f.firstSeen <= r.lastSeen + gapMs) return r;
  }
  return null;
}
