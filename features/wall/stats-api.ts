import { z } from 'zod';
import type { Actor, AlertService } from '../../core/contracts/alert-service.js';
import type { AlertState } from '../../core/contracts/alert.js';
import { GridCodeSchema } from '../../core/contracts/common-schema.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { ForbiddenError } from '../../core/errors.js';
import { inScope } from '../../core/grid/scope.js';
import type { Session } from './auth.js';
import { route, type RouteDef } from './route-table.js';
import { aggregateStats, dayIn, STATS_GROUPS, statsCsv } from './stats-aggregate.js';

const DAY_MS = 86_400_000;
/** Widest custom range: a year and a day (a 考核 year across a leap day). */
const MAX_SPAN_DAYS = 367;
/** Alerts one statistics request reads at most; `truncated` says when a range holds more. */
export const STATS_ALERT_LIMIT = 100_000;

const DaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
  .refine(
    (s) =>
      !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s),
    {
      message: 'not a calendar date',
    },
  );

const csv = z
  .string()
  .max(2_000)
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{1,63}$/)).max(50));

export const StatsQuerySchema = z
  .strictObject({
    period: z
      .enum(['today', '7d', '30d', '90d'])
      .default('7d')
      .describe('Days up to now, in the gateway time zone (ignored when from is given)'),
    from: DaySchema.optional().describe('First day (YYYY-MM-DD, gateway time zone), inclusive'),
    to: DaySchema.optional().describe('Last day (YYYY-MM-DD), inclusive; default today. Needs from'),
    gridCode: GridCodeSchema.optional().describe('Only this subtree (within your scope)'),
    type: csv.optional().describe('Comma-separated finding types'),
    groupBy: z
      .enum(STATS_GROUPS)
      .default('county')
      .describe('One row per county, grid, type, operator, camera or day'),
    slaHours: z.coerce
      .number()
      .min(0.25)
      .max(24 * 90)
      .default(24)
      .describe('An open alert older than this is overdue (逾期)'),
  })
  .superRefine((q, ctx) => {
    if (q.to && !q.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to needs from' });
    if (q.from && q.to) {
      const span = (Date.parse(q.to) - Date.parse(q.from)) / DAY_MS;
      if (span < 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to is before from' });
      else if (span >= MAX_SPAN_DAYS)
        ctx.addIssue({ code: 'custom', path: ['to'], message: `at most ${MAX_SPAN_DAYS} days` });
    }
  })
  .describe('Statistics (考核) filters');
export type StatsQuery = z.output<typeof StatsQuerySchema>;

const StatsRowSchema = z.strictObject({
  key: z.string().describe('Code of the county or grid, type, username, camera id or day'),
  name: z.string(),
  raised: z.number().int().describe('Alerts raised'),
  claimed: z.number().int(),
  confirmed: z.number().int(),
  rejected: z.number().int(),
  falseDetections: z.number().int().describe('Rejected as 误报 (false_detection)'),
  rejectRate: z.number().nullable().describe('rejected / (confirmed + rejected)'),
  closed: z.number().int().describe('Cases closed (结案)'),
  medianClaimMs: z.number().nullable(),
  medianConfirmMs: z.number().nullable(),
  medianCloseMs: z.number().nullable(),
  overdue: z.number().int().describe('Open and older than slaHours (逾期未结)'),
});

export const StatsSchema = z
  .strictObject({
    from: z.number().int().describe('Start (ms), midnight of the first day'),
    to: z.number().int().describe('End (ms), exclusive'),
    fromDay: z.string(),
    toDay: z.string(),
    timeZone: z.string(),
    groupBy: z.enum(STATS_GROUPS),
    slaHours: z.number(),
    rows: z.array(StatsRowSchema),
    totals: StatsRowSchema,
    truncated: z
      .boolean()
      .describe(`More than ${STATS_ALERT_LIMIT} alerts matched; figures cover the newest`),
  })
  .describe('考核 figures per group and in total');

/** Offset of a time zone from UTC at an instant (ms), from Intl (no zone database of our own). */
function zoneOffsetMs(timeZone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const local = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return local - Math.floor(at / 1000) * 1000;
}

/** The instant a local day starts in a zone. */
export function dayStart(day: string, timeZone: string): number {
  const guess = Date.parse(`${day}T00:00:00Z`);
  return guess - zoneOffsetMs(timeZone, guess - zoneOffsetMs(timeZone, guess));
}

const addDays = (d: string, n: number): string =>
  new Date(Date.parse(`${d}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);

/** Every calendar day from `from` to `to`, inclusive (at most MAX_SPAN_DAYS: the query is checked). */
function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to && out.length <= MAX_SPAN_DAYS; d = addDays(d, 1)) out.push(d);
  return out;
}

/** [from, to) of a query: whole local days of the gateway's zone. */
export function statsRange(
  q: Pick<StatsQuery, 'period' | 'from' | 'to'>,
  now: number,
  timeZone: string,
): { from: number; to: number; fromDay: string; toDay: string } {
  const day = dayIn(timeZone);
  const today = day(now);
  const days = { today: 1, '7d': 7, '30d': 30, '90d': 90 }[q.period];
  const fromDay = q.from ?? addDays(today, 1 - days);
  const toDay = q.to ?? today;
  return { from: dayStart(fromDay, timeZone), to: dayStart(addDays(toDay, 1), timeZone), fromDay, toDay };
}

export interface StatsRouteDeps {
  grids: () => GridIndex;
  alerts: AlertService;
  openStates: AlertState[];
  timeZone: string;
  clock?: () => number;
  need(session: Session | null): Actor;
}

/** GET /stats/summary (JSON) and /stats/export (CSV): 考核 figures of the alerts in your scope. */
export function statsRoutes(d: StatsRouteDeps): RouteDef[] {
  const clock = d.clock ?? Date.now;
  async function compute(session: Session | null, q: StatsQuery): Promise<z.infer<typeof StatsSchema>> {
    const actor = d.need(session);
    const grids = d.grids();
    if (q.gridCode && !inScope(actor, { gridCode: q.gridCode }, grids))
      throw new ForbiddenError(`grid ${q.gridCode} is outside your scope`);
    const now = clock();
    const range = statsRange(q, now, d.timeZone);
    const { items, truncated } = await d.alerts.timelines({
      scope: q.gridCode ?? actor.scope,
      ...(q.type?.length ? { types: q.type } : {}),
      from: range.from,
      to: range.to - 1,
      limit: STATS_ALERT_LIMIT,
    });
    // The index is by grid subtree; the rule (stored path and live index) decides, as for /alerts.
    const area = { role: actor.role, scope: q.gridCode ?? actor.scope };
    const mine = items.filter((t) => inScope(actor, t.alert, grids) && inScope(area, t.alert, grids));
    const { rows, totals } = aggregateStats(mine, {
      groupBy: q.groupBy,
      now,
      slaMs: q.slaHours * 3_600_000,
      openStates: d.openStates,
      grids,
      timeZone: d.timeZone,
      days: daysOf(range.fromDay, range.toDay),
    });
    return {
      ...range,
      timeZone: d.timeZone,
      groupBy: q.groupBy,
      slaHours: q.slaHours,
      rows,
      totals,
      truncated,
    };
  }
  return [
    route({
      method: 'get',
      path: '/stats/summary',
      summary:
        'Statistics (考核): alerts raised, confirmed, rejected, closed, median times, overdue, per group',
      tag: 'stats',
      access: 'any',
      query: StatsQuerySchema,
      response: StatsSchema,
      async handler({ session, query }) {
        return compute(session, query);
      },
    }),
    route({
      method: 'get',
      path: '/stats/export',
      summary: 'The same statistics as CSV (UTF-8 with BOM for Excel, zh-CN headers, a totals line)',
      tag: 'stats',
      access: 'any',
      query: StatsQuerySchema,
      produces: 'text/csv',
      async handler({ session, query, res }) {
        const s = await compute(session, query);
        res.setHeader('Content-Type', 'text/csv; charset=utf-8');
        res.setHeader(
          'Content-Disposition',
          `attachment; filename="gridwatch-stats-${s.groupBy}-${s.fromDay}-${s.toDay}.csv"`,
        );
        res.setHeader('Cache-Control', 'no-store');
        res.send(statsCsv(s.rows, s.totals));
        return undefined;
      },
    }),
  ];
}
