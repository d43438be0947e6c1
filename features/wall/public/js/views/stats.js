// 考核 statistics: figures per county, grid, type, operator or camera from GET /api/v1/stats/summary,
// a chart of the groups and one of the days (ECharts), the table, and the same query as CSV.
import * as echarts from '/vendor/echarts.esm.min.mjs';
import { $, h, raw } from '../dom.js';
import { departmentTable, loadDepartmentStats } from './stats-departments.js';
import { loadWorkerStats, workersTableOf } from './stats-workers.js';

const PERIODS = ['today', '7d', '30d', '90d'];
const GROUPS = ['county', 'grid', 'type', 'operator', 'camera'];

export function createStatsView(ctx) {
  const { store, t } = ctx;
  const q = { period: '7d', groupBy: 'county', type: '', gridCode: '' };
  let groupChart = null;
  let dayChart = null;
  let last = null;
  let lastDays = null;
  let lastDept = null;
  /** Per-worker figures (features/workers), null when the feature is off. */
  let lastWorkers = null;

  const params = (extra = {}) => {
    const p = new URLSearchParams({ period: q.period, groupBy: q.groupBy, ...extra });
    if (q.type) p.set('type', q.type);
    if (q.gridCode) p.set('gridCode', q.gridCode);
    return p.toString();
  };
  const minutes = (ms) => (ms === null ? '—' : (ms / 60_000).toFixed(1));
  const pct = (r) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);
  const groupName = (row) => {
    if (q.groupBy === 'type') {
      const ti = ctx.meta?.types.get(row.key);
      return ti ? (ctx.i18n.lang === 'zh' ? ti.zh : ti.en) : row.key;
    }
    if (!row.key) return t(q.groupBy === 'operator' ? 'stats_undecided' : 'unassigned');
    return row.name || row.key;
  };

  function form() {
    const opt = (value, label, sel, isData = false) =>
      h('option', { value, selected: sel, raw: isData }, label);
    const select = (id, key, options) =>
      h(
        'select',
        {
          id,
          onchange: (ev) => {
            q[key] = ev.target.value;
            void load();
          },
        },
        ...options,
      );
    return h(
      'form',
      { class: 'filters', id: 'stats-form', onsubmit: (ev) => (ev.preventDefault(), void load()) },
      h(
        'label',
        {},
        h('span', {}, t('stats_period')),
        select(
          'stats-period',
          'period',
          PERIODS.map((p) => opt(p, t(`stats_period_${p}`), q.period === p)),
        ),
      ),
      h(
        'label',
        {},
        h('span', {}, t('stats_group')),
        select(
          'stats-group',
          'groupBy',
          GROUPS.map((g) => opt(g, t(`stats_by_${g}`), q.groupBy === g)),
        ),
      ),
      h(
        'label',
        {},
        h('span', {}, t('filter_grid')),
        select('stats-grid', 'gridCode', [
          opt('', t('all'), !q.gridCode),
          ...store.ui.gridOptions.map((g) =>
            opt(g.code, `${'　'.repeat(g.depth)}${g.name}`, q.gridCode === g.code, true),
          ),
        ]),
      ),
      h(
        'label',
        {},
        h('span', {}, t('filter_type')),
        select('stats-type', 'type', [
          opt('', t('all'), !q.type),
          ...[...(ctx.meta?.types.values() ?? [])].map((ti) =>
            opt(ti.type, ctx.i18n.lang === 'zh' ? ti.zh : ti.en, q.type === ti.type),
          ),
        ]),
      ),
      h(
        'a',
        {
          id: 'stats-export',
          class: 'button',
          href: `/api/v1/stats/export?${params()}`,
          download: '',
          title: 'CSV (UTF-8)',
        },
        t('stats_export'),
      ),
    );
  }

  function tableOf(s) {
    const heads = [
      'stats_col_name',
      'stats_col_raised',
      'stats_col_claimed',
      'stats_col_confirmed',
      'stats_col_rejected',
      'stats_col_false',
      'stats_col_reject_rate',
      'stats_col_closed',
      'stats_col_claim_min',
      'stats_col_confirm_min',
      'stats_col_close_min',
      'stats_col_overdue',
    ];
    const cells = (r, name) => [
      name,
      r.raised,
      r.claimed,
      r.confirmed,
      r.rejected,
      r.falseDetections,
      pct(r.rejectRate),
      r.closed,
      minutes(r.medianClaimMs),
      minutes(r.medianConfirmMs),
      minutes(r.medianCloseMs),
      r.overdue,
    ];
    const tr = (r, name, attrs) => h('tr', attrs, ...cells(r, name).map((c) => h('td', {}, c)));
    return h(
      'table',
      { class: 'table stats-table', id: 'stats-table' },
      h('thead', {}, h('tr', {}, ...heads.map((k) => h('th', {}, t(k))))),
      h(
        'tbody',
        {},
        ...s.rows.map((r) =>
          tr(r, q.groupBy === 'type' ? groupName(r) : r.key ? raw(groupName(r)) : groupName(r), {
            'data-key': r.key,
          }),
        ),
        tr(s.totals, t('stats_total'), { class: 'total', 'data-key': '' }),
      ),
    );
  }

  function charts(s, days) {
    const rows = s.rows.slice(0, 30);
    groupChart ??= echarts.init($('stats-chart-groups'), 'dark', { renderer: 'canvas' });
    dayChart ??= echarts.init($('stats-chart-days'), 'dark', { renderer: 'canvas' });
    const series = (key, field) => ({ name: t(key), type: 'bar', data: rows.map((r) => r[field]) });
    groupChart.setOption(
      {
        backgroundColor: 'transparent',
        animation: false,
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 36, bottom: 64 },
        xAxis: {
          type: 'category',
          data: rows.map(groupName),
          axisLabel: { rotate: rows.length > 8 ? 30 : 0 },
        },
        yAxis: { type: 'value', minInterval: 1 },
        series: [
          series('stats_col_raised', 'raised'),
          series('stats_col_confirmed', 'confirmed'),
          series('stats_col_rejected', 'rejected'),
          series('stats_col_closed', 'closed'),
          series('stats_col_overdue', 'overdue'),
        ],
      },
      true,
    );
    dayChart.setOption(
      {
        backgroundColor: 'transparent',
        animation: false,
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 36, bottom: 32 },
        xAxis: { type: 'category', data: days.rows.map((r) => r.key) },
        yAxis: { type: 'value', minInterval: 1 },
        series: [
          { name: t('stats_col_raised'), type: 'line', data: days.rows.map((r) => r.raised) },
          { name: t('stats_col_rejected'), type: 'line', data: days.rows.map((r) => r.rejected) },
          { name: t('stats_col_closed'), type: 'line', data: days.rows.map((r) => r.closed) },
        ],
      },
      true,
    );
  }

  function render() {
    const panel = $('stats-panel');
    if (!panel) return;
    const s = last;
    panel.replaceChildren(
      form(),
      s
        ? h(
            'p',
            { class: 'muted', id: 'stats-range' },
            t('stats_range', { from: s.fromDay, to: s.toDay, sla: s.slaHours }),
            s.truncated ? ` ${t('stats_truncated')}` : '',
          )
        : h('p', { class: 'muted' }, t('loading')),
      h(
        'div',
        { class: 'stats-charts' },
        h('div', { id: 'stats-chart-groups', class: 'stats-chart' }),
        h('div', { id: 'stats-chart-days', class: 'stats-chart' }),
      ),
      s ? tableOf(s) : '',
      s && lastDept ? departmentTable(ctx, lastDept) : '',
      lastWorkers ? workersTableOf(ctx, lastWorkers, minutes) : '',
    );
    // The chart containers were replaced: bind new instances to them.
    groupChart?.dispose();
    dayChart?.dispose();
    groupChart = null;
    dayChart = null;
    if (s && lastDays) charts(s, lastDays);
  }

  async function load() {
    try {
      const [s, days] = await Promise.all([
        ctx.api.get(`/stats/summary?${params()}`),
        ctx.api.get(`/stats/summary?${params({ groupBy: 'day' })}`),
      ]);
      lastWorkers = await loadWorkerStats(ctx, s, q);
      last = s;
      lastDays = days;
      lastDept = await loadDepartmentStats(ctx, s, q);
      render();
      $('stats-panel').dataset.ready = String(Date.now());
    } catch (err) {
      ctx.report(err);
    }
  }

  return {
    async show() {
      render();
      await load();
    },
    render,
    resize() {
      groupChart?.resize();
      dayChart?.resize();
    },
  };
}
