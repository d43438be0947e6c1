// 网格员考核 on the 统计考核 page (features/workers): one row per grid worker of the scope.
import { h, raw } from '../dom.js';

/** GET /workers/stats for the summary's range; null when the feature is off or the call fails. */
export async function loadWorkerStats(ctx, s, q) {
  if (!ctx.meta?.raw.features?.includes('workers')) return null;
  const grid = q.gridCode ? `&gridCode=${encodeURIComponent(q.gridCode)}` : '';
  return ctx.api.get(`/workers/stats?from=${s.from}&to=${s.to}${grid}`).catch(() => null);
}

/** 网格员考核: per grid worker, tasks, disposals, time to dispose (median, p90), reopened after re-check. */
export function workersTableOf(w, en, minutes) {
  const heads = en
    ? [
        'Worker',
        'Role',
        'Tasks',
        'Open',
        'Disposals',
        'Median dispose (min)',
        'P90 dispose (min)',
        'Passed re-check',
        'Reopened',
      ]
    : [
        '网格员',
        '角色',
        '任务',
        '待处置',
        '处置反馈',
        '处置中位 (分钟)',
        '处置 P90 (分钟)',
        '核查通过',
        '复核重开',
      ];
  return h(
    'section',
    { id: 'stats-workers' },
    h('h3', {}, en ? 'Grid workers' : '网格员考核'),
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
              r.roleZh ?? '—',
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
