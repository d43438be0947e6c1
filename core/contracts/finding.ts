import { z } from 'zod';
import { FenceSchema } from './fence.js';

/** Normalised box: x1, y1, x2, y2 in 0..1 of the image. */
export const BoxSchema = z
  .strictObject({
    x1: z.number().min(0).max(1),
    y1: z.number().min(0).max(1),
    x2: z.number().min(0).max(1),
    y2: z.number().min(0).max(1),
    label: z.string().max(50).describe('COCO class or detector label'),
    score: z.number().min(0).max(1),
    trackId: z.string().max(64).optional(),
  })
  .describe('A detected object, normalised coordinates');
export type Box = z.infer<typeof BoxSchema>;

/**
 * Where a finding came from when it is not a camera (issue 15): an events-API source. Camera
 * findings carry none. The reporter's contact is never part of it (kept by features/events).
 */
export const FindingSourceSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/)
      .describe('Source id from sources.yaml'),
    kind: z
      .enum(['citizen', 'grid_worker', 'parking', 'air_quality'])
      .describe('citizen 市民随手拍, grid_worker 网格员上报, parking 智慧停车, air_quality 空气质量'),
    name: z.string().max(100).describe('Source name shown on the wall'),
    eventId: z.string().min(1).max(128).describe("The source's own event id (idempotency key)"),
    summary: z
      .string()
      .max(500)
      .optional()
      .describe('What the source says, for the wall (report text, station and values, masked plate)'),
  })
  .describe('An events-API source');
export type FindingSource = z.infer<typeof FindingSourceSchema>;

export const FindingTypeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,63}$/)
  .describe(
    'Finding type, e.g. illegal_parking, street_vending, crowd_gathering, road_obstruction, fire_smoke, camera_offline',
  );

/** Why a detector raised an alert, for the operator (set on the finding that raised it). */
export const RaiseWhySchema = z
  .strictObject({
    rule: z.string().max(100).describe('Rule (finding type) that raised it'),
    plugin: z.string().max(100).describe('Plugin the rule is in'),
    zoneId: z.string().max(64).nullable(),
    zoneName: z.string().max(200).nullable(),
    heldSec: z
      .number()
      .nonnegative()
      .describe('Seconds the condition had held when raised (from firstSeen to the raise)'),
    dwellSec: z
      .number()
      .nonnegative()
      .nullable()
      .describe(
        'Seconds the object had stood still in the zone, as the rule counted them (dwell rules; else null)',
      ),
    score: z.number().min(0).max(1).describe('Score the rule gave (track median for object rules)'),
    recheckScore: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .describe('Score of the raise-time re-check (二次识别) on the raise frame; null: none ran'),
    raisedAt: z.number().int().nonnegative().describe('ms since epoch, the raise frame’s time'),
  })
  .describe('Why the alert was raised: rule, zone, dwell, scores');
export type RaiseWhy = z.infer<typeof RaiseWhySchema>;

/**
 * What a detector (or ingest supervision) reports. This is the payload of the `findings`
 * queue; the dispatcher turns findings into alerts.
 */
export const FindingSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{8,200}$/)
      .describe('Deterministic id: the same event re-delivered carries the same id (BullMQ job id)'),
    cameraId: z.string().min(1).max(64),
    type: FindingTypeSchema,
    zoneId: z.string().max(64).nullable().describe('Zone the finding is in; null for camera-wide findings'),
    score: z.number().min(0).max(1),
    trackIds: z.array(z.string().max(64)).max(100),
    boxes: z.array(BoxSchema).max(100),
    /** ms since epoch */
    firstSeen: z.number().int().nonnegative(),
    lastSeen: z.number().int().nonnegative(),
    /** Place key for dedup when tracks change identity (e.g. a rounded box centre). */
    placeKey: z.string().max(64).optional(),
    evidence: z
      .strictObject({
        first: z
          .string()
          .max(300)
          .nullable()
          .describe('Relative path in the evidence store: the frame the alert was raised on'),
        latest: z.string().max(300).nullable(),
        firstSeen: z
          .string()
          .max(300)
          .nullable()
          .optional()
          .describe('The frame in which the object was first seen (its track’s first sample), box drawn'),
      })
      .describe('Evidence JPEGs with boxes and zone drawn'),
    detector: z.strictObject({ plugin: z.string().max(100), version: z.string().max(50) }),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Type-specific extras (e.g. people count, offline reason)'),
    fence: FenceSchema.optional(),
    source: FindingSourceSchema.optional().describe('Set for events-API findings (no camera)'),
    location: z
      .strictObject({ lon: z.number().min(-180).max(180), lat: z.number().min(-90).max(90) })
      .optional()
      .describe('WGS84 place of an events-API finding; routed by it instead of a camera'),
    mergeInto: z
      .string()
      .max(200)
      .optional()
      .describe('Open alert this finding belongs to (a report near a camera alert); merged when still open'),
    why: RaiseWhySchema.optional().describe('Why the detector raised it; only on the raising finding'),
  })
  .describe('A finding raised by a detector');
export type Finding = z.infer<typeof FindingSchema>;

/** Where findings go: the dispatcher's queue in the gateway, stdout in `npm run analyze`. */
export interface FindingSink {
  submit(finding: Finding): Promise<void>;
}

/** Labels for a finding type, from the plugin manifest that raises it. */
export interface FindingTypeInfo {
  type: string;
  zh: string;
  en: string;
  /** CSS colour for the wall. */
  color?: string;
  /** Icon name or emoji for the wall. */
  icon?: string;
}
