// 网格员考核 on the 统计考核 page (features/workers): one row per grid worker of the scope.
import { h, raw } from '../dom.js';

/** GET /workers/stats for the summary's range; null when the feature is off or the call fails. */
export async function loadWorkerStats(ctx, s, q) {
  if (!ctx.meta?.raw.features?.includes('workers')) return null;
  const grid = q.gridCode ? `&gridCode=${encodeURIComponent(q.gridCode)}` : '';
  return ctx.api.get(`/workers/stats?from=${s.from}&to=${s.to}${grid}`).catch(() => null);
}

/** 网格员考核: per grid worker, tasks, disposals, time to dispose (median, p90), reopened after re-check. */
export function workersTableOf(ctx, w, minutes) {
  const en = ctx.i18n.lang === 'en';
  const cols = ['name', 'role', 'tasks', 'open', 'disposals', 'median', 'p90', 'passed', 'reopened'];
  const heads = cols.map((c) => ctx.t(`stats_workers_col_${c}`));
  return h(
    'section',
    { id: 'stats-workers' },
    h('h3', {}, ctx.t('stats_workers_title')),
    h(
      'table',
      { class: 'table stats-table', id: 'stats-workers-table' },
      h('thead', {}, h('tr', {}, ...heads.map((k) => h('th', {}, k)))),
      h(
        'tbody',
        {},
        ...w.rows.map((r) =>
          h(
            'tr',
            { 'data-worker': r.workerId },
            ...[
              raw(`${r.name} (${r.workerId})`),
              (en ? r.roleEn : r.roleZh) ?? '—',
              r.tasks,
              r.open,
              r.disposals,
              minutes(r.medianDisposeMs),
              minutes(r.p90DisposeMs),
              r.passed,
              r.reopened,
            ].map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}
