import { z } from 'zod';
import type { ApiRouteGroup } from '../../core/http/api-route-doc.js';
import { AlertSchema, AlertStateSchema } from '../../core/contracts/alert.js';
import { Codes } from '../../core/errors.js';
import type { TaskView } from './create-workers.js';
import { WorkerStatsQuerySchema, WorkerStatsReplySchema } from './worker-stats.js';
import { DispatchBodySchema, DisposalFieldsSchema, WorkerViewSchema } from './workers-config.js';

const AlertIdParams = z.strictObject({
  alertId: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,200}$/)
    .describe('Alert id'),
});

/** One task as the worker page shows it (create-workers.ts TaskView). */
export const TaskViewSchema = z
  .strictObject({
    id: z.string(),
    version: z.number().int().describe('Alert version: send it back with the disposal'),
    state: AlertStateSchema,
    stateZh: z.string(),
    type: z.string(),
    typeZh: z.string(),
    gridCode: z.string(),
    gridName: z.string(),
    place: z.string().describe('Camera or event source name'),
    summary: z.string().nullable().describe('The event source’s summary, when it came from one'),
    firstSeen: z.number().int(),
    assignedToMe: z.boolean().describe('Dispatched to this worker (else to the grid’s team)'),
    // Always present in a task (null when none), unlike on the alert.
    assignment: AlertSchema.shape.assignment.unwrap(),
    disposal: AlertSchema.shape.disposal.unwrap(),
    recheck: AlertSchema.shape.recheck.unwrap(),
    reopened: z.boolean().describe('The re-check found the problem still there after this worker’s disposal'),
  })
  .describe('A task on the worker page');

export const RosterReplySchema = z
  .strictObject({ workers: z.array(WorkerViewSchema).describe('Active workers of grids in your scope') })
  .describe('The roster as you may see it (phones for admins only)');

export const ResponsibleReplySchema = z
  .strictObject({
    alertId: z.string(),
    gridCode: z
      .string()
      .nullable()
      .describe('The grid whose team answers for the alert; null: nobody on its path'),
    gridName: z.string().nullable(),
    workers: z.array(WorkerViewSchema).describe('That grid’s team, leader first'),
    assignment: AlertSchema.shape.assignment.unwrap(),
    disposal: AlertSchema.shape.disposal.unwrap(),
  })
  .describe('Who is responsible for an alert (一长多员)');

const EvidenceParams = AlertIdParams.extend({
  which: z
    .enum(['latest', 'first', 'disposal'])
    .describe('Latest or first evidence frame, or the disposal photo'),
});

// The schema says exactly what taskView() builds: the compiler refuses either one drifting.
// (taskView() fills the alert's optional fields with null, so undefined is not among its values.)
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Defined<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };
export const TASK_VIEW_MATCHES: Same<z.infer<typeof TaskViewSchema>, Defined<TaskView>> = true;

const TAGS = [
  {
    name: 'workers',
    description:
      'Grid workers (网格员): roster, 派遣, the worker page’s tasks and 处置反馈 (docs/workers.md)',
  },
];
const WORKER_ONLY =
  'For a wall user who is an active grid worker of the roster (workers.yaml account); others get 403.';

/** Grid workers: mount at /api/v1/workers (Workers.router). */
/** What the two task writes (dispatch, disposal report) can refuse with, besides their auth's. */
const TASK_WRITE_ERRORS = [
  Codes.GW_VALIDATION,
  Codes.GW_BODY_TOO_LARGE,
  Codes.GW_UNSUPPORTED_MEDIA_TYPE,
  Codes.GW_FORBIDDEN,
  Codes.GW_NOT_FOUND,
  Codes.GW_INVALID_TRANSITION,
  Codes.GW_CONFLICT,
] as const;

export const WORKERS_API: ApiRouteGroup = {
  mount: '/api/v1/workers',
  tags: TAGS,
  routes: [
    {
      method: 'get',
      path: '/roster',
      summary: 'Active grid workers of the grids in your scope',
      tag: 'workers',
      auth: 'session',
      ok: [{ status: 200, description: 'The roster', schema: RosterReplySchema }],
      errors: [],
    },
    {
      method: 'get',
      path: '/responsible/:alertId',
      summary: 'The workers responsible for an alert’s grid (or the nearest grid above with a team)',
      tag: 'workers',
      auth: 'session',
      params: AlertIdParams,
      ok: [{ status: 200, description: 'The team', schema: ResponsibleReplySchema }],
      errors: [Codes.GW_NOT_FOUND],
    },
    {
      method: 'get',
      path: '/disposal-photo/:alertId',
      summary: 'The disposal photo of an alert in your scope',
      tag: 'workers',
      auth: 'session',
      params: AlertIdParams,
      ok: [{ status: 200, description: 'JPEG (EXIF removed)', produces: 'image/jpeg' }],
      errors: [Codes.GW_NOT_FOUND],
    },
    {
      method: 'post',
      path: '/dispatch/:alertId',
      summary: '派遣: send a confirmed (or forwarded) alert to a worker or the grid’s team',
      description:
        'Operators and admins with the alert in scope; viewers are refused. A stale `version` is refused (409).',
      tag: 'workers',
      auth: 'session',
      params: AlertIdParams,
      body: DispatchBodySchema,
      ok: [
        {
          status: 201,
          description: 'The alert, now dispatched',
          schema: z.strictObject({ alert: AlertSchema }),
        },
      ],
      errors: TASK_WRITE_ERRORS,
    },
    {
      method: 'get',
      path: '/me',
      summary: 'The worker page: who you are and your tasks',
      description: WORKER_ONLY,
      tag: 'workers',
      auth: 'session',
      ok: [
        {
          status: 200,
          description: 'You and your tasks (dispatched first, then reopened)',
          schema: z.strictObject({ worker: WorkerViewSchema, tasks: z.array(TaskViewSchema) }),
        },
      ],
      errors: [Codes.GW_FORBIDDEN],
    },
    {
      method: 'get',
      path: '/tasks/:alertId/evidence/:which',
      summary: 'Evidence frame or disposal photo of one of your tasks',
      description: WORKER_ONLY,
      tag: 'workers',
      auth: 'session',
      params: EvidenceParams,
      ok: [{ status: 200, description: 'JPEG', produces: 'image/jpeg' }],
      errors: [Codes.GW_EVIDENCE_NAME, Codes.GW_FORBIDDEN, Codes.GW_NOT_FOUND],
    },
    {
      method: 'post',
      path: '/tasks/:alertId/disposal',
      summary: '处置反馈: report a dispatched task done, with a photo of the place',
      description:
        `${WORKER_ONLY} multipart/form-data: text fields note and version, file part photo (JPEG, PNG or WebP, at most ` +
        'workers.photoMaxBytes; re-encoded without EXIF). The alert moves to handled and the re-check (二次识别) looks at the photo.',
      tag: 'workers',
      auth: 'session',
      params: AlertIdParams,
      multipart: {
        fields: DisposalFieldsSchema,
        files: [{ name: 'photo', required: true, multiple: false, description: 'The place after disposal' }],
      },
      ok: [
        {
          status: 201,
          description: 'The task, now handled',
          schema: z.strictObject({ task: TaskViewSchema }),
        },
        {
          status: 200,
          description: 'The same report again (a retry): it stands, nothing new is stored',
          schema: z.strictObject({ task: TaskViewSchema }),
        },
      ],
      errors: TASK_WRITE_ERRORS,
    },
    {
      method: 'get',
      path: '/stats',
      summary: 'Worker statistics (考核): tasks, disposals, time to dispose, re-check outcomes',
      tag: 'workers',
      auth: 'session',
      query: WorkerStatsQuerySchema,
      ok: [{ status: 200, description: 'One row per worker', schema: WorkerStatsReplySchema }],
      errors: [Codes.GW_VALIDATION, Codes.GW_FORBIDDEN],
    },
  ],
};
