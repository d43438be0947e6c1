import { z } from 'zod';
import { BoxSchema, FindingSourceSchema, FindingTypeSchema, RaiseWhySchema } from './finding.js';
import { GridCodeSchema, GridLevelSchema } from './common-schema.js';
import { AlertForwardingSchema } from './forwarding.js';

export const ALERT_STATES = [
  'new',
  'claimed',
  'escalated',
  'confirmed',
  'rejected',
  'forwarded',
  'dispatched',
  'handled',
  'verified',
  'closed',
] as const;
export const AlertStateSchema = z
  .enum(ALERT_STATES)
  .describe('Lifecycle state (发现 → 派遣 → 处置 → 核查 → 结案)');
export type AlertState = z.infer<typeof AlertStateSchema>;

export const REJECT_REASONS = ['false_detection', 'not_violation', 'duplicate', 'other'] as const;
export const RejectReasonSchema = z
  .enum(REJECT_REASONS)
  .describe('false_detection 误报, not_violation 不构成违规, duplicate 重复, other 其他');

export const GridRefSchema = z.strictObject({
  code: GridCodeSchema,
  name: z.string(),
  level: GridLevelSchema,
});
export type GridRef = z.infer<typeof GridRefSchema>;

/** 处置反馈: a grid worker's report that the problem was dealt with (features/workers). */
export const DisposalSchema = z
  .strictObject({
    workerId: z.string().describe('Roster id of the worker who reported it'),
    workerName: z.string(),
    at: z.number().int().describe('When it was reported (ms since epoch)'),
    note: z.string().max(1_000),
    photo: z.string().nullable().describe('Evidence path of the disposal photo; the re-check looks at it'),
  })
  .describe('A grid worker’s disposal report');
export type Disposal = z.infer<typeof DisposalSchema>;

/** 派遣 to a grid worker or a grid's team, from the wall (features/workers). */
export const AssignmentSchema = z
  .strictObject({
    workerId: z.string().nullable().describe('Roster id; null: the grid’s whole team'),
    workerName: z.string().nullable(),
    gridCode: z.string().describe('The grid whose team is responsible'),
    at: z.number().int(),
    by: z.string().describe('Username of the operator who dispatched it'),
  })
  .describe('Who an alert was dispatched to');
export type Assignment = z.infer<typeof AssignmentSchema>;

export const AlertSchema = z
  .strictObject({
    id: z.string(),
    state: AlertStateSchema,
    type: FindingTypeSchema,
    typeLabel: z.strictObject({ zh: z.string(), en: z.string() }),
    cameraId: z.string(),
    cameraName: z.string(),
    deviceId: z.string().optional(),
    zoneId: z.string().nullable(),
    zoneName: z.string().nullable(),
    gridCode: GridCodeSchema,
    /** Root first: city, county, township, community, grid. */
    gridPath: z.array(GridRefSchema),
    routedBy: z.enum(['zone', 'camera', 'location', 'fallback']),
    location: z.strictObject({ lon: z.number(), lat: z.number() }).describe('WGS84'),
    score: z.number(),
    count: z.number().int().describe('Findings merged into this alert'),
    trackIds: z.array(z.string()),
    boxes: z.array(BoxSchema),
    firstSeen: z.number().int(),
    lastSeen: z.number().int(),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
    evidence: z.strictObject({
      first: z.string().nullable(),
      latest: z.string().nullable(),
      firstSeen: z
        .string()
        .nullable()
        .optional()
        .describe('Frame in which the object was first seen (kept from the raising finding)'),
    }),
    claimedBy: z
      .strictObject({ username: z.string(), displayName: z.string(), at: z.number().int() })
      .nullable(),
    /** 0 = the alert's own grid's operators; each escalation moves one level up. */
    escalationLevel: z.number().int().nonnegative(),
    rejectReason: RejectReasonSchema.nullable(),
    caseId: z.string().nullable().describe('Case id given by the grid platform'),
    version: z.number().int().describe('Bumped on every change; clients drop stale updates'),
    decidedBy: z
      .strictObject({ username: z.string(), displayName: z.string(), at: z.number().int() })
      .nullable()
      .optional()
      .describe('Operator who confirmed or rejected the alert (named to whoever lost a race to do the same)'),
    recheck: z
      .strictObject({
        at: z.number().int(),
        present: z.boolean(),
        score: z.number(),
        round: z.number().int(),
      })
      .nullable()
      .optional()
      .describe('Latest 二次识别 result, after the platform reported the case handled'),
    forwarding: AlertForwardingSchema.nullable()
      .optional()
      .describe('Forwarding of the case since the alert was confirmed; absent before'),
    source: FindingSourceSchema.optional().describe('Events-API source that raised it; absent for cameras'),
    assignment: AssignmentSchema.nullable()
      .optional()
      .describe('派遣 to a grid worker or a grid’s team (features/workers); absent when none'),
    disposal: DisposalSchema.nullable()
      .optional()
      .describe('Latest 处置反馈 by a grid worker (features/workers); absent when none was reported'),
    why: RaiseWhySchema.optional().describe('Why the detector raised it (from the raising finding)'),
  })
  .describe('An alert: one problem in one place, with its lifecycle');
export type Alert = z.infer<typeof AlertSchema>;

export const AuditEntrySchema = z.strictObject({
  alertId: z.string(),
  at: z.number().int(),
  actor: z.string().describe('username, or system:<component>'),
  action: z.string(),
  from: AlertStateSchema.nullable(),
  to: AlertStateSchema,
  note: z.string().max(2_000).optional(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;
