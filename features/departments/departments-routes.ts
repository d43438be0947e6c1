import { z } from 'zod';
import type { ApiRouteDoc, ApiRouteGroup } from '../../core/http/api-route-doc.js';
import { Codes } from '../../core/errors.js';
import { DeptStatsQuerySchema, DeptStatsSchema } from './department-stats.js';
import { ReportInBodySchema, WhistleBodySchema, WhistleSchema } from './departments-config.js';

const AlertIdParams = z.strictObject({
  alertId: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,200}$/)
    .describe('Alert id'),
});

export const DepartmentListSchema = z
  .strictObject({
    departments: z.array(
      z.strictObject({
        code: z.string().describe('Department code'),
        name: z.string(),
        types: z.array(z.string()).describe('Finding types it handles'),
        scope: z.array(z.string()).describe('Grids (subtrees) it is responsible for'),
      }),
    ),
  })
  .describe('The departments of departments.yaml');

export const DepartmentInboxSchema = z
  .strictObject({
    departments: z.array(z.string()).describe('Codes of the departments you act for'),
    whistles: z
      .array(WhistleSchema)
      .describe('Whistles that called them, newest first (200 per department at most)'),
  })
  .describe('What was sent to your departments');

const TAGS = [
  { name: 'departments', description: '吹哨报到: departments called in on an alert, their 报到, statistics' },
];

const STATS: ApiRouteDoc = {
  method: 'get',
  path: '/stats',
  summary: 'Department statistics (部门报到考核): whistles, time to report in, missed deadlines',
  description:
    'Over the whistles of alerts in your scope; `enabled: false` (all else empty) when no departments file is configured.',
  tag: 'departments',
  auth: 'session',
  query: DeptStatsQuerySchema,
  ok: [{ status: 200, description: 'Figures per department', schema: DeptStatsSchema }],
  errors: [Codes.GW_VALIDATION],
};

/** JSON bodies of this router: 16 kB at most, UTF-8. */
const JSON_BODY = [Codes.GW_VALIDATION, Codes.GW_BODY_TOO_LARGE, Codes.GW_UNSUPPORTED_MEDIA_TYPE] as const;

/** 吹哨报到: mount at /api/v1/departments (Departments.router). */
export const DEPARTMENTS_API: ApiRouteGroup = {
  mount: '/api/v1/departments',
  tags: TAGS,
  routes: [
    {
      method: 'get',
      path: '/',
      summary: 'The departments that can be called in',
      tag: 'departments',
      auth: 'session',
      ok: [{ status: 200, description: 'Departments', schema: DepartmentListSchema }],
      errors: [],
    },
    {
      method: 'post',
      path: '/whistles/:alertId',
      summary: '吹哨: call in the departments responsible for an open alert',
      description:
        'Operators and admins with the alert in scope; viewers are refused. One whistle per alert.',
      tag: 'departments',
      auth: 'session',
      params: AlertIdParams,
      body: WhistleBodySchema,
      ok: [{ status: 201, description: 'The whistle and who was called', schema: WhistleSchema }],
      errors: [
        ...JSON_BODY,
        Codes.GW_FORBIDDEN,
        Codes.GW_NOT_FOUND,
        Codes.GW_INVALID_TRANSITION,
        Codes.GW_CONFLICT,
      ],
    },
    {
      method: 'get',
      path: '/whistles/:alertId',
      summary: 'The whistle of an alert: who was called, who reported in and when',
      description:
        'A department operator sees the whistles that called their department; others need the alert in scope.',
      tag: 'departments',
      auth: 'session',
      params: AlertIdParams,
      ok: [{ status: 200, description: 'The whistle', schema: WhistleSchema }],
      errors: [Codes.GW_NOT_FOUND],
    },
    {
      method: 'post',
      path: '/whistles/:alertId/report-in',
      summary: '报到: a called department acknowledges',
      description:
        'By an operator of the department (departments.yaml operators), or by the department system itself, signed with its ' +
        'forward secret (X-Gridwatch-Department must be the body’s department). A second report-in answers the whistle unchanged.',
      tag: 'departments',
      auth: 'session-or-department',
      params: AlertIdParams,
      headers: [
        {
          name: 'X-Gridwatch-Department',
          required: false,
          description: 'Department code (signed report-in)',
        },
        {
          name: 'X-Gridwatch-Timestamp',
          required: false,
          description: 'Unix seconds of the signature (signed report-in)',
        },
      ],
      body: ReportInBodySchema,
      ok: [{ status: 200, description: 'The whistle with the report-in', schema: WhistleSchema }],
      errors: [...JSON_BODY, Codes.GW_FORBIDDEN, Codes.GW_NOT_FOUND, Codes.GW_CONFLICT],
    },
    {
      method: 'get',
      path: '/inbox',
      summary: 'Whistles sent to the departments you act for',
      tag: 'departments',
      auth: 'session',
      ok: [
        { status: 200, description: 'Your departments and their whistles', schema: DepartmentInboxSchema },
      ],
      errors: [],
    },
    STATS,
  ],
};

/** Mounted instead when no departments file is configured (departments-off.ts): only the statistics. */
export const DEPARTMENTS_OFF_API: ApiRouteGroup = {
  mount: '/api/v1/departments',
  tags: TAGS,
  routes: [STATS],
};
