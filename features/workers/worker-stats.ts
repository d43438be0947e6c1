import { z } from 'zod';
import type { Actor, AlertService } from '../../core/contracts/alert-service.js';
import type { AuditEntry } from '../../core/contracts/alert.js';
import { GridCodeSchema } from '../../core/contracts/common-schema.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { zodIssues } from '../../core/config/zod-issues.js';
import { ForbiddenError, ValidationError } from '../../core/errors.js';
import { inScope } from '../../core/grid/scope.js';
import { WORKER_ROLE_EN, WORKER_ROLE_ZH, type Worker } from './workers-config.js';

/** Alerts one request reads at most (their audits are read only for those a worker touched). */
export const WORKER_STATS_LIMIT = 20_000;
const MAX_SPAN_MS = 367 * 86_400_000;

export const WorkerStatsQuerySchema = z
  .strictObject({
    from: z.coerce.number().int().nonnegative().describe('Start (ms since epoch): alerts raised from then'),
    to: z.coerce.number().int().positive().describe('End (ms), exclusive'),
    gridCode: GridCodeSchema.optional().describe('Only this subtree (within your scope)'),
  })
  .refine((q) => q.to > q.from && q.to - q.from <= MAX_SPAN_MS, {
    message: 'to must be after from, at most 367 days',
    path: ['to'],
  })
  .describe('Worker statistics (考核) filters; the same range as /stats/summary (its from and to)');

export const WorkerStatsRowSchema = z.strictObject({
  workerId: z.string(),
  name: z.string(),
  role: z.string().nullable(),
  roleZh: z.string().nullable().describe('Role in Chinese; null when the worker left the roster'),
  roleEn: z.string().nullable().describe('The same role in English'),
  tasks: z.number().int().describe('Alerts dispatched to the worker or disposed of by them'),
  open: z.number().int().describe('Dispatched to them and not yet reported disposed'),
  disposals: z.number().int().describe('处置反馈 reports'),
  medianDisposeMs: z.number().nullable().describe('From 派遣 to the worker’s 处置反馈, median'),
  p90DisposeMs: z.number().nullable().describe('… 90th percentile (nearest rank)'),
  reopened: z.number().int().describe('Disposals the 二次识别 re-check found not done (reopened)'),
  passed: z.number().int().describe('Disposals the re-check passed'),
});
export type WorkerStatsRow = z.infer<typeof WorkerStatsRowSchema>;

export const WorkerStatsReplySchema = z.strictObject({
  from: z.number().int(),
  to: z.number().int(),
  rows: z.array(WorkerStatsRowSchema),
  truncated: z.boolean(),
});
export type WorkerStatsReply = z.infer<typeof WorkerStatsReplySchema>;

/** Nearest-rank percentile of a sorted list; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

interface Acc {
  row: WorkerStatsRow;
  tasks: Set<string>;
  times: number[];
}

/**
 * Per worker, from the audit trail of the alerts raised in [from, to): each `worker_disposal`
 * entry (actor worker:<id>) is one disposal; its time is measured from the last move to
 * dispatched before it; a `reopen` by the re-check before the next disposal counts it as
 * reopened, a `recheck_close` (or a re-check that found it gone) as passed.
 */
export async function workerStats(d: {
  alerts: AlertService;
  grids: GridIndex;
  roster: readonly Worker[];
  actor: Actor;
  query: unknown;
  now: number;
}): Promise<WorkerStatsReply> {
  const what = 'GET /api/v1/workers/stats';
  const p = WorkerStatsQuerySchema.safeParse(d.query);
  if (!p.success) throw new ValidationError(what, zodIssues(what, p.error, d.query));
  const q = p.data;
  if (q.gridCode && !inScope(d.actor, { gridCode: q.gridCode }, d.grids))
    throw new ForbiddenError(`grid ${q.gridCode} is outside your scope`);
  const scope = q.gridCode ?? d.actor.scope;
  const area = { role: d.actor.role, scope };
  const { items, truncated } = await d.alerts.timelines({
    scope,
    from: q.from,
    to: q.to - 1,
    limit: WORKER_STATS_LIMIT,
  });
  const byId = new Map<string, Acc>();
  const acc = (id: string, fallbackName: string): Acc => {
    let a = byId.get(id);
    if (!a) {
      const w = d.roster.find((x) => x.id === id);
      a = {
        row: {
          workerId: id,
          name: w?.name ?? fallbackName,
          role: w?.role ?? null,
          roleZh: w ? WORKER_ROLE_ZH[w.role] : null,
          roleEn: w ? WORKER_ROLE_EN[w.role] : null,
          tasks: 0,
          open: 0,
          disposals: 0,
          medianDisposeMs: null,
          p90DisposeMs: null,
          reopened: 0,
          passed: 0,
        },
        tasks: new Set(),
        times: [],
      };
      byId.set(id, a);
    }
    return a;
  };
  // Every active worker of the area has a row, with zeros when nothing was dispatched to them.
  for (const w of d.roster)
    if (w.active && w.grids.some((g) => inScope(area, { gridCode: g }, d.grids))) acc(w.id, w.name);

  for (const { alert } of items) {
    if (!inScope(d.actor, alert, d.grids) || !inScope(area, alert, d.grids)) continue;
    if (!alert.assignment && !alert.disposal) continue;
    const assigned = alert.assignment?.workerId;
    if (assigned) {
      const a = acc(assigned, alert.assignment?.workerName ?? assigned);
      a.tasks.add(alert.id);
      if (alert.state === 'dispatched') a.row.open += 1;
    }
    let audit: AuditEntry[];
    try {
      audit = await d.alerts.audit(alert.id, d.actor);
    } catch {
      continue; // gone (retention) between the two reads
    }
    let dispatchedAt: number | null = null;
    let last: Acc | null = null;
    for (const e of audit) {
      if (e.to === 'dispatched' && e.from !== 'dispatched') dispatchedAt = e.at;
      if (e.action === 'worker_disposal' && e.actor.startsWith('worker:')) {
        const a = acc(e.actor.slice('worker:'.length), alert.disposal?.workerName ?? e.actor);
        a.tasks.add(alert.id);
        a.row.disposals += 1;
        if (dispatchedAt !== null) a.times.push(e.at - dispatchedAt);
        last = a;
      } else if (last && e.actor === 'system:recheck') {
        // recheck.ts: reopen (still there), recheck_close or recheck "… gone" (passed); a
        // re-check that could not run (no probe) decides nothing.
        const gone =
          e.action === 'recheck_close' || (e.action === 'recheck' && / gone /.test(` ${e.note ?? ''} `));
        if (e.action === 'reopen') last.row.reopened += 1;
        else if (gone) last.row.passed += 1;
        else continue;
        last = null;
      }
    }
  }
  const rows = [...byId.values()].map((a) => {
    const t = [...a.times].sort((x, y) => x - y);
    return {
      ...a.row,
      tasks: a.tasks.size,
      medianDisposeMs: percentile(t, 50),
      p90DisposeMs: percentile(t, 90),
    };
  });
  rows.sort((x, y) => y.tasks - x.tasks || x.workerId.localeCompare(y.workerId));
  return { from: q.from, to: q.to, rows, truncated };
}
