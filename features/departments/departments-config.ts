import { z } from 'zod';
import { GridCodeSchema, SecretRefSchema } from '../../core/contracts/common-schema.js';
import { FindingTypeSchema } from '../../core/contracts/finding.js';
import { ForwardErrorSchema } from '../../core/contracts/forwarding.js';

/** gateway.yaml `departments:` — 吹哨报到 (off unless a departments file is named). */
export const DepartmentsConfigSchema = z
  .strictObject({
    file: z
      .string()
      .optional()
      .describe('departments.yaml, relative to gateway.yaml; whistles are off without it'),
  })
  .describe('Departments that a grid can call in (网格吹哨、部门报到, docs/events.md)');
export type DepartmentsConfig = z.infer<typeof DepartmentsConfigSchema>;

const DeptCodeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{1,31}$/, 'lower-case letters, digits, - and _, 2 to 32')
  .describe('Department code, e.g. chengguan');

export const DepartmentSchema = z
  .strictObject({
    code: DeptCodeSchema,
    name: z.string().min(1).max(100).describe('Name (zh-CN), e.g. 区城市管理局'),
    types: z.array(FindingTypeSchema).min(1).describe('Finding types it handles'),
    scope: z.array(GridCodeSchema).min(1).describe('Grids (subtrees) it is responsible for'),
    reportInSec: z
      .number()
      .int()
      .positive()
      .max(7 * 86_400)
      .optional()
      .describe('Time to report in (报到) after a whistle; default: the file’s reportInSec'),
    operators: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]{2,64}$/))
      .default([])
      .describe('Wall users who act for the department: they see and report in on the alerts sent to it'),
    forward: z
      .strictObject({
        url: z
          .url({ protocol: /^https?$/ })
          .describe('Where the whistle notice is POSTed (signed like cases)'),
        secret: SecretRefSchema.describe('HMAC key, also for its report-in callback'),
      })
      .optional()
      .describe('A department system to notify instead of (or as well as) operator accounts'),
    escalateTo: z
      .array(DeptCodeSchema)
      .default([])
      .describe(
        'Called next when it does not report in in time; none: the alert is escalated one grid level up',
      ),
  })
  .refine((d) => d.operators.length > 0 || d.forward !== undefined, {
    message: 'a department needs operators or a forward target',
    path: ['operators'],
  })
  .describe('One department');
export type Department = z.infer<typeof DepartmentSchema>;

export const DepartmentsFileSchema = z
  .strictObject({
    reportInSec: z
      .number()
      .int()
      .positive()
      .max(7 * 86_400)
      .default(1_800)
      .describe('Default time to report in after a whistle (seconds)'),
    notice: z
      .strictObject({
        attempts: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(10)
          .describe('Attempts to deliver a whistle notice to a forward target before giving up'),
        baseMs: z.number().int().positive().default(2_000).describe('First retry delay; doubles per attempt'),
        maxMs: z.number().int().positive().default(300_000).describe('Longest delay between two attempts'),
        timeoutMs: z
          .number()
          .int()
          .positive()
          .max(120_000)
          .default(10_000)
          .describe('How long one attempt waits for the answer'),
      })
      .default({ attempts: 10, baseMs: 2_000, maxMs: 300_000, timeoutMs: 10_000 })
      .describe('Delivery of whistle notices to forward targets (retried with backoff in BullMQ)'),
    departments: z.array(DepartmentSchema).describe('Departments'),
  })
  .describe('departments.yaml: who is called when a grid blows the whistle');
export type DepartmentsFile = z.infer<typeof DepartmentsFileSchema>;

export const WhistleBodySchema = z
  .strictObject({
    note: z.string().max(1_000).optional().describe('Why the grid cannot solve it alone'),
    departments: z
      .array(DeptCodeSchema)
      .min(1)
      .max(20)
      .optional()
      .describe('Call these (each must handle the type and area); default: every responsible department'),
  })
  .describe('吹哨: call in the departments responsible for an alert');

export const ReportInBodySchema = z
  .strictObject({
    department: DeptCodeSchema.describe('The department reporting in'),
    note: z.string().max(1_000).optional(),
  })
  .describe('报到: a called department acknowledges');

/** Where the whistle notice to a department's forward target stands. */
export const NoticeSchema = z
  .strictObject({
    status: z
      .enum(['pending', 'sent', 'failing', 'failed'])
      .describe(
        'pending 通知中, sent 已送达, failing 送达失败、重试中, failed 已放弃 (attempts used up or refused)',
      ),
    attempts: z.number().int().nonnegative().describe('Attempts made'),
    lastError: ForwardErrorSchema.nullable().describe('The last failed attempt (code, HTTP status, text)'),
    sentAt: z.number().int().nullable().describe('When the target accepted it (ms)'),
  })
  .describe('Delivery of a whistle notice to a forward target');
export type Notice = z.infer<typeof NoticeSchema>;

export const CallSchema = z.strictObject({
  code: z.string(),
  name: z.string(),
  level: z.number().int().describe('1 = called by the whistle, 2+ = called because another missed its time'),
  calledAt: z.number().int(),
  dueAt: z.number().int(),
  reportedAt: z.number().int().nullable(),
  reportedBy: z.string().nullable(),
  overdueAt: z.number().int().nullable(),
  via: z.enum(['operators', 'forward', 'both']),
  notice: NoticeSchema.optional().describe('Only for a department with a forward target'),
});
export type Call = z.infer<typeof CallSchema>;

export const WhistleSchema = z
  .strictObject({
    alertId: z.string(),
    at: z.number().int(),
    by: z.string().describe('Who blew the whistle (username)'),
    note: z.string().nullable(),
    alert: z.strictObject({
      type: z.string(),
      typeZh: z.string(),
      gridCode: z.string(),
      gridName: z.string(),
      rootCode: z.string(),
      place: z.string(),
      path: z
        .array(z.string())
        .optional()
        .describe(
          'Grid codes from the root to the alert’s grid (statistics by area); absent in older whistles',
        ),
    }),
    calls: z.array(CallSchema),
  })
  .describe('A whistle and who was called, who reported in and when');
export type Whistle = z.infer<typeof WhistleSchema>;
