import { z } from 'zod';
import { GridCodeSchema } from '../../core/contracts/common-schema.js';
import type { Department, Whistle } from './departments-config.js';

/** Widest range one request may ask for: a 考核 year and a day. */
const MAX_SPAN_MS = 367 * 86_400_000;
const DEFAULT_SPAN_MS = 7 * 86_400_000;

export const DeptStatsQuerySchema = z
  .strictObject({
    from: z.coerce
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('Whistles blown from this instant (ms), inclusive; default: 7 days before `to`'),
    to: z.coerce
      .number()
      .int()
      .positive()
      .optional()
      .describe('… up to this instant (ms), exclusive; default now. The wall passes its stats range'),
    gridCode: GridCodeSchema.optional().describe('Only alerts in this subtree (always within your scope)'),
    type: z
      .string()
      .max(2_000)
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{1,63}$/)).max(50))
      .optional()
      .describe('Comma-separated finding types'),
  })
  .describe('Department statistics (部门报到考核) filters');
export type DeptStatsQuery = z.output<typeof DeptStatsQuerySchema>;

const FiguresSchema = z.strictObject({
  called: z.number().int().describe('Whistles that called it (吹哨数)'),
  reported: z.number().int().describe('Calls it reported in on (报到数), in time or late'),
  reportedLate: z.number().int().describe('Reported in after its deadline'),
  missed: z
    .number()
    .int()
    .describe('Deadlines missed (超时未报到): the whistle went on to escalateTo or one grid level up'),
  medianReportInMs: z.number().nullable().describe('Median time from the call to 报到 (ms)'),
  p90ReportInMs: z
    .number()
    .nullable()
    .describe('90th percentile of the same (nearest rank: the smallest time 90 % of reports are within)'),
  noticeFailed: z.number().int().describe('Notices to its system given up (never delivered)'),
});
type Figures = z.infer<typeof FiguresSchema>;

export const DeptStatsSchema = z
  .strictObject({
    enabled: z.boolean().describe('False when no departments file is configured (all else empty)'),
    from: z.number().int(),
    to: z.number().int(),
    whistles: z.number().int().describe('Whistles counted (blown in the range, in your scope)'),
    departments: z.array(FiguresSchema.extend({ code: z.string(), name: z.string() })),
    totals: FiguresSchema,
    truncated: z.boolean().describe('More whistles in the range than one request reads; the newest counted'),
  })
  .describe('Per department: whistles received, time to report in, missed deadlines');
export type DeptStats = z.infer<typeof DeptStatsSchema>;

/** [from, to) of a query, checked: `to` after `from`, at most a year and a day apart. */
export function deptStatsRange(
  q: DeptStatsQuery,
  now: number,
): { ok: true; from: number; to: number } | { ok: false; field: string; message: string } {
  const to = q.to ?? now;
  const from = q.from ?? to - DEFAULT_SPAN_MS;
  if (to <= from) return { ok: false, field: 'to', message: 'to must be after from' };
  if (to - from > MAX_SPAN_MS) return { ok: false, field: 'to', message: 'at most 367 days' };
  return { ok: true, from, to };
}

/** The same median as the wall's operator statistics (mean of the two middle values). */
function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile: the smallest value with at least p of the values at or below it. */
function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)]!;
}

function figures(calls: Whistle['calls']): Figures {
  const took = calls.filter((c) => c.reportedAt !== null).map((c) => c.reportedAt! - c.calledAt);
  return {
    called: calls.length,
    reported: took.length,
    reportedLate: calls.filter((c) => c.reportedAt !== null && c.overdueAt !== null).length,
    missed: calls.filter((c) => c.overdueAt !== null).length,
    medianReportInMs: median(took),
    p90ReportInMs: percentile(took, 0.9),
    noticeFailed: calls.filter((c) => c.notice?.status === 'failed').length,
  };
}

/** Figures per department over the calls of these whistles (already filtered by range and scope). */
export function aggregateDeptStats(
  whistles: Whistle[],
  departments: readonly Department[],
): Pick<DeptStats, 'departments' | 'totals' | 'whistles'> {
  const byCode = new Map<string, Whistle['calls']>();
  for (const w of whistles)
    for (const c of w.calls) {
      const list = byCode.get(c.code) ?? [];
      list.push(c);
      byCode.set(c.code, list);
    }
  const names = new Map(departments.map((d) => [d.code, d.name]));
  const rows = [...byCode.entries()].map(([code, calls]) => ({
    code,
    // The name it has now; one no longer in the file keeps the name it was called by.
    name: names.get(code) ?? calls.at(-1)!.name,
    ...figures(calls),
  }));
  rows.sort((a, b) => b.called - a.called || a.code.localeCompare(b.code));
  return { departments: rows, totals: figures([...byCode.values()].flat()), whistles: whistles.length };
}
