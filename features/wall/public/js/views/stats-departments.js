// 部门报到考核 on the statistics page: per department from GET /api/v1/departments/stats, over
// the same days, grid and type as the page's own figures (features/departments).
import { h, raw } from '../dom.js';

/** The figures for the range of the page's summary `s`; null when departments are not configured. */
export async function loadDepartmentStats(ctx, s, q) {
  const p = new URLSearchParams({ from: String(s.from), to: String(s.to) });
  if (q.gridCode) p.set('gridCode', q.gridCode);
  if (q.type) p.set('type', q.type);
  const d = await ctx.api.get(`/departments/stats?${p}`);
  return d.enabled ? d : null;
}

export function departmentTable(ctx, d) {
  const { t } = ctx;
  const minutes = (ms) => (ms === null ? '—' : (ms / 60_000).toFixed(1));
  const heads = [
    'stats_dept_col_name',
    'stats_dept_col_called',
    'stats_dept_col_reported',
    'stats_dept_col_median',
    'stats_dept_col_p90',
    'stats_dept_col_missed',
    'stats_dept_col_notice_failed',
  ];
  const cells = (r) => [
    r.called,
    r.reported,
    minutes(r.medianReportInMs),
    minutes(r.p90ReportInMs),
    r.missed,
    r.noticeFailed,
  ];
  const tr = (r, name, attrs) => h('tr', attrs, h('td', {}, name), ...cells(r).map((c) => h('td', {}, c)));
  return h(
    'section',
    { id: 'stats-departments' },
    h('h3', {}, t('stats_dept_title')),
    d.departments.length === 0
      ? h('p', { class: 'muted' }, t('stats_dept_none'))
      : h(
          'table',
          { class: 'table stats-table', id: 'stats-dept-table' },
          h('thead', {}, h('tr', {}, ...heads.map((k) => h('th', {}, t(k))))),
          h(
            'tbody',
            {},
            ...d.departments.map((r) => tr(r, raw(r.name), { 'data-key': r.code })),
            tr(d.totals, t('stats_total'), { class: 'total', 'data-key': '' }),
          ),
        ),
  );
}
