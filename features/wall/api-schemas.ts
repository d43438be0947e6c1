import { z } from 'zod';
import { ALERT_STATES, AlertSchema, AuditEntrySchema } from '../../core/contracts/alert.js';
import { CAMERA_STATES } from '../../core/contracts/camera-directory.js';
import { GridCodeSchema, GridLevelSchema } from '../../core/contracts/common-schema.js';
import { MapTilesSchema } from './wall-config.js';

/** Schemas of the HTTP API: used to validate requests and to generate docs/openapi. */

const csv = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .max(2_000)
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));

/** The catalogue error body, shared with the features' route docs (core/http/api-route-doc.ts). */
export { ErrorBodySchema } from '../../core/http/api-route-doc.js';

export const LoginBodySchema = z
  .strictObject({
    username: z.string().min(1).max(64).describe('Login name'),
    password: z.string().min(1).max(1_024).describe('Password'),
  })
  .describe('Login');

export const ActorSchema = z.strictObject({
  username: z.string(),
  displayName: z.string(),
  role: z.enum(['admin', 'operator', 'viewer']),
  scope: GridCodeSchema,
});

export const SessionBodySchema = z
  .strictObject({
    user: ActorSchema,
    scopeName: z.string().describe('Name of the scope grid'),
    csrfToken: z.string().describe('Send as X-CSRF-Token on POST/DELETE when using the session cookie'),
    token: z
      .string()
      .optional()
      .describe('Session token (login reply only): Authorization: Bearer <token> for API clients'),
    expiresAt: z.number().int(),
  })
  .describe('The current session');

export const AlertListQuerySchema = z
  .strictObject({
    gridCode: GridCodeSchema.optional().describe('Only this grid subtree (within your scope)'),
    type: csv(z.string().regex(/^[a-z][a-z0-9_]{1,63}$/))
      .optional()
      .describe('Comma-separated finding types'),
    state: csv(z.enum(ALERT_STATES)).optional().describe('Comma-separated states'),
    cameraId: z.string().max(64).optional(),
    from: z.coerce.number().int().nonnegative().optional().describe('Created at or after (ms)'),
    to: z.coerce.number().int().nonnegative().optional().describe('Created before (ms)'),
    q: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('Search text: part of the camera, zone, type or grid name, or the alert id'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(4_000).optional().describe('nextCursor of the previous page'),
  })
  .describe('Alert list filters');

export const AlertPageSchema = z.strictObject({
  items: z.array(AlertSchema),
  nextCursor: z.string().nullable(),
  total: z.number().int(),
});

export const AlertDetailSchema = z.strictObject({ alert: AlertSchema, audit: z.array(AuditEntrySchema) });

export const IdParamsSchema = z.strictObject({ id: z.string().min(1).max(200) });
export const EvidenceParamsSchema = z.strictObject({
  id: z.string().min(1).max(200),
  which: z
    .enum(['first', 'latest', 'firstSeen'])
    .describe('First, latest or first-seen (object entered) evidence frame'),
});

export const CameraViewSchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    deviceId: z.string().optional(),
    gridCode: z.string().nullable(),
    sourceKind: z.enum(['rtsp', 'onvif', 'snapshot', 'file']),
    state: z.enum(CAMERA_STATES),
    reason: z.string().nullable(),
    since: z.number(),
    lastFrameAt: z.number().nullable(),
    framesSampled: z.number(),
    restarts: z.number(),
    lagP95Ms: z.number().nullable(),
    ingest: z
      .strictObject({
        mode: z.enum(['pair', 'single', 'full', 'burst', 'snapshot']).describe('How ingest samples it now'),
        modeReason: z.string().describe('Why this mode (the chooser heuristic, with its cost figures)'),
        intervalSec: z.number().describe('Configured seconds between samples'),
        effectiveIntervalSec: z
          .number()
          .describe('Seconds between samples now (longer when the decode budget stretched it)'),
      })
      .optional()
      .describe('Sampling mode and interval; absent for cameras no ingest runs'),
    county: z
      .strictObject({ code: z.string(), name: z.string() })
      .nullable()
      .describe('County (区县) the camera is in'),
  })
  .describe('A camera as the wall sees it (never its URL or credentials)');

export const LiveTicketSchema = z.strictObject({
  cameraId: z.string(),
  flvUrl: z.string(),
  wsFlvUrl: z.string(),
  expiresAt: z.number(),
});

export interface GridTreeNode {
  code: string;
  name: string;
  level: z.infer<typeof GridLevelSchema>;
  children: GridTreeNode[];
}
export const GridTreeNodeSchema: z.ZodType<GridTreeNode> = z.lazy(() =>
  z.strictObject({
    code: z.string(),
    name: z.string(),
    level: GridLevelSchema,
    children: z.array(GridTreeNodeSchema),
  }),
);

export const GridSearchQuerySchema = z.strictObject({
  q: z.string().trim().min(1).max(100).describe('Code prefix or part of a name'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export const GridInfoSchema = z.strictObject({
  code: z.string(),
  name: z.string(),
  level: GridLevelSchema,
  parent: z.string().nullable(),
  kind: z.string(),
  path: z.array(z.strictObject({ code: z.string(), name: z.string() })).describe('Root first'),
});

export const TypeInfoSchema = z.strictObject({
  type: z.string(),
  zh: z.string(),
  en: z.string(),
  color: z.string().optional(),
  icon: z.string().optional(),
});

export const SuppressionSchema = z.strictObject({
  id: z.string(),
  cameraId: z.string(),
  zoneId: z.string().nullable(),
  type: z.string(),
  action: z.enum(['suppress', 'raise_dwell']),
  dwellFactor: z.number(),
  rejections: z.number(),
  createdAt: z.number(),
});
export const DeadLetterSchema = z.strictObject({
  id: z.string(),
  alertId: z.string(),
  target: z.string(),
  attempts: z.number(),
  lastError: z.string(),
  at: z.number(),
});
export const RejectedEntrySchema = z.strictObject({
  file: z.string(),
  cameraId: z.string().nullable(),
  errors: z.array(z.string()),
});
export const UserViewSchema = z.strictObject({
  username: z.string(),
  displayName: z.string(),
  role: z.enum(['admin', 'operator', 'viewer']),
  scope: z.string(),
});
export const OkSchema = z.strictObject({ ok: z.literal(true) });

export const ALERT_ACTION_NAMES = ['claim', 'release', 'confirm', 'reject', 'escalate', 'note'] as const;
export type AlertActionName = (typeof ALERT_ACTION_NAMES)[number];

/**
 * The alert state machine as the wall needs it: every state, the operator actions each one
 * allows, and which states count as open. Given by the composition from the dispatcher's
 * table, so the page never repeats it.
 */
export const AlertLifecycleSchema = z
  .strictObject({
    states: z.array(z.enum(ALERT_STATES)).describe('Every alert state, in lifecycle order'),
    actions: z
      .record(z.enum(ALERT_STATES), z.array(z.enum(ALERT_ACTION_NAMES)))
      .describe('Operator actions each state allows (POST /alerts/{id}/actions, socket alert:act)'),
    openStates: z.array(z.enum(ALERT_STATES)).describe('States in which an alert is still open'),
  })
  .describe('Alert states and the actions each allows');
export type AlertLifecycleTable = z.infer<typeof AlertLifecycleSchema>;

export const MetaSchema = z
  .strictObject({
    findingTypes: z.array(TypeInfoSchema).describe('Finding types with zh/en labels, colour and icon'),
    states: AlertLifecycleSchema.shape.states,
    actions: AlertLifecycleSchema.shape.actions,
    openStates: AlertLifecycleSchema.shape.openStates,
    errors: z
      .record(z.string(), z.strictObject({ zh: z.string(), en: z.string() }))
      .describe('Operator-facing text of every error code (the `code` of an error body or ack)'),
    timeZone: z.string().describe('IANA time zone the gateway reports local times in, e.g. Asia/Shanghai'),
    versionedActions: z
      .literal(true)
      .describe('Every action carries the alert version the client shows; a stale one is refused (409)'),
    mapTiles: MapTilesSchema.nullable().describe(
      'Background tiles of the map (wall.map.tiles), or null: grids on a blank background',
    ),
    features: z
      .array(z.string())
      .optional()
      .describe('Optional features on in this gateway (e.g. workers): the page calls their APIs only then'),
  })
  .describe('Constants the wall page takes from the server instead of repeating them');
