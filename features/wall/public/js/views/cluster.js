// Admin: the cluster (issue 11) as this wall's node sees it: live ingest nodes with their
// capacity, the cameras each owns (its leases) and heartbeat age, the cameras nobody owns, and
// this node's own cameras. Read from GET /api/v1/admin/health; refreshed while on screen.
import { $, h, raw, table } from '../dom.js';

const REFRESH_MS = 5_000;

export function createClusterView(ctx) {
  const { t } = ctx;
  let timer = null;

  function render(health) {
    const c = health.cluster;
    const panel = $('cluster-panel');
    if (!c) {
      panel.replaceChildren(h('p', { class: 'muted', 'data-cluster': 'off' }, t('cluster_off')));
      return;
    }
    const total = c.nodes.reduce((a, n) => a + n.owned, 0) + c.unowned;
    const summary = h(
      'p',
      { class: 'cluster-summary', 'data-cluster': 'on' },
      t('cluster_summary', {
        node: c.node ?? t('cluster_no_ingest'),
        roles: (health.roles ?? []).join('+'),
        nodes: c.nodes.length,
        cameras: total,
      }),
      ' ',
      h(
        'span',
        { class: c.unowned ? 'bad' : 'muted', 'data-unowned': String(c.unowned) },
        t('cluster_unowned', { n: c.unowned }),
      ),
    );
    const rows = c.nodes.map((n) => {
      const tr = [
        raw(n.id),
        n.capacity,
        h('span', { 'data-owned': String(n.owned) }, String(n.owned)),
        total ? `${Math.round((100 * n.owned) / total)}%` : '—',
        `${(n.ageMs / 1000).toFixed(1)} s`,
      ];
      return tr;
    });
    panel.replaceChildren(
      summary,
      h(
        'section',
        { class: 'admin-section', 'data-section': 'cluster-nodes' },
        h('h2', {}, t('cluster_nodes')),
        table(
          [
            t('cluster_node'),
            t('cluster_capacity'),
            t('cluster_owned'),
            t('cluster_share'),
            t('cluster_age'),
          ],
          rows,
          t('none'),
          { 'data-table': 'cluster-nodes' },
        ),
      ),
      h(
        'section',
        { class: 'admin-section', 'data-section': 'cluster-here' },
        h('h2', {}, t('cluster_here')),
        c.ownedHere.length
          ? h('p', { 'data-owned-here': c.ownedHere.join(',') }, raw(c.ownedHere.join(t('list_sep'))))
          : h('p', { class: 'muted' }, t('none')),
      ),
    );
    // Rows carry the node id for tests and styling.
    panel.querySelectorAll('[data-table=cluster-nodes] tbody tr').forEach((tr, i) => {
      tr.dataset.node = c.nodes[i].id;
    });
  }

  async function refresh() {
    try {
      render(await ctx.api.get('/admin/health'));
    } catch (err) {
      ctx.report(err);
    }
  }

  // One chain of timeouts: it stops by itself once another view is on screen.
  function poll() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (ctx.store.ui.view !== 'cluster') return;
      await refresh();
      poll();
    }, REFRESH_MS);
  }
  async function show() {
    await refresh();
    poll();
  }
  return { show };
}
