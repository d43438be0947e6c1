// The wall: one card per alert, keyed by id. A card is rebuilt only when its alert's version
// (or the language) changed; the others stay the same DOM nodes and are at most moved.
import { $, h, raw } from '../dom.js';
import { cameraText, evidenceEl, gridPathEl, lastedMs, stateBadge, typeBadge } from './alert-parts.js';
import { forwardingBadge } from './forwarding.js';

export function createListView(ctx, { onOpen }) {
  const { store, t } = ctx;
  const ui = store.ui;
  const cards = $('cards');
  /** id → { el, version, lang } */
  const cache = new Map();
  const empty = h('div', { class: 'empty' });
  let order = [];
  let scheduled = false;

  function visible() {
    const f = ui.filters;
    return [...store.alerts.values()]
      .filter((a) => !f.grid || a.gridPath.some((g) => g.code === f.grid))
      .filter((a) => !f.type || a.type === f.type)
      .filter((a) =>
        f.state === 'open'
          ? ctx.meta.awaitsOperator(a.state)
          : f.state === 'all'
            ? true
            : a.state === f.state,
      )
      .sort((x, y) => y.createdAt - x.createdAt || (y.id < x.id ? -1 : 1));
  }

  function cardEl(a) {
    const claim =
      a.claimedBy && a.state === 'claimed'
        ? h('span', { class: 'claim' }, raw(a.claimedBy.displayName), ' ', t('claimed_by'))
        : null;
    return h(
      'div',
      {
        class: `card${ctx.meta.awaitsOperator(a.state) ? '' : ' done'}`,
        role: 'option',
        'data-id': a.id,
        'data-state': a.state,
        'data-version': a.version,
        style: `--type-color:${ctx.meta.typeInfo(a.type, ctx.i18n.lang).color}`,
        onclick: () => {
          select(a.id);
          onOpen(a.id);
        },
      },
      h(
        'div',
        { class: 'card-head' },
        typeBadge(ctx, a.type),
        stateBadge(ctx, a.state),
        forwardingBadge(ctx, a),
      ),
      evidenceEl(ctx, a, 'latest'),
      h(
        'div',
        { class: 'card-body' },
        gridPathEl(a),
        h(
          'div',
          { class: 'meta' },
          h('span', { class: 'camera', title: a.cameraName, raw: true }, cameraText(a)),
          h('span', { class: 'lasted' }, `${t('lasted')} ${ctx.fmt.duration(lastedMs(ctx, a))}`),
        ),
        claim,
      ),
    );
  }

  function cardFor(a) {
    const c = cache.get(a.id);
    if (c && c.version === a.version && c.lang === ctx.i18n.lang) return c.el;
    const el = cardEl(a);
    if (c?.el.classList.contains('fresh')) el.classList.add('fresh');
    if (a.id === ui.selected) el.classList.add('selected');
    // In place, so the cards after it are not moved.
    if (c?.el.parentNode === cards) c.el.replaceWith(el);
    cache.set(a.id, { version: a.version, lang: ctx.i18n.lang, el });
    return el;
  }

  function markSelected(prev) {
    if (prev && prev !== ui.selected) cache.get(prev)?.el.classList.remove('selected');
    if (ui.selected) cache.get(ui.selected)?.el.classList.add('selected');
  }

  function render() {
    scheduled = false;
    const list = visible();
    if (!list.length) {
      empty.textContent = t('empty');
      cards.replaceChildren(empty);
    } else {
      empty.remove();
      // Rebuild changed cards first (each in place), then move only what is out of order.
      const els = list.map(cardFor);
      let ref = cards.firstChild;
      for (const el of els) {
        if (el === ref) ref = ref.nextSibling;
        else cards.insertBefore(el, ref);
      }
      while (ref) {
        const next = ref.nextSibling;
        ref.remove();
        ref = next;
      }
    }
    for (const id of cache.keys()) if (!store.alerts.has(id)) cache.delete(id);
    const prev = ui.selected;
    // A decided card leaves the queue: select the one that took its place, so Y/N on the wall
    // clear it in order (the highlight shows which one the next key acts on).
    if (ui.selected && !list.some((a) => a.id === ui.selected)) {
      const was = order.indexOf(ui.selected);
      ui.selected = list[Math.min(Math.max(was, 0), list.length - 1)]?.id ?? null;
    }
    order = list.map((a) => a.id);
    if (!ui.selected && list.length) ui.selected = list[0].id;
    markSelected(prev);
    const waiting = [...store.alerts.values()].filter((a) => a.state === 'new').length;
    $('count').textContent = `${list.length} / ${store.alerts.size}`;
    document.title = waiting ? `(${waiting}) ${t('title')}` : t('title');
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(render);
  }

  function select(id) {
    const prev = ui.selected;
    ui.selected = id;
    markSelected(prev);
    cache.get(id)?.el.scrollIntoView({ block: 'nearest' });
  }

  store.subscribe((c) => {
    if (c.type === 'alert' && c.kind === 'new') {
      queueMicrotask(() => {
        const el = cache.get(c.id)?.el;
        el?.classList.add('fresh');
        // Drop the class once the flash is over, so a reused element does not flash again.
        setTimeout(() => el?.classList.remove('fresh'), 2600);
      });
    }
    schedule();
  });

  // Durations tick in place, without rebuilding cards.
  setInterval(() => {
    for (const [id, c] of cache) {
      const a = store.get(id);
      const el = c.el.querySelector('.lasted');
      if (a && el) el.textContent = `${t('lasted')} ${ctx.fmt.duration(lastedMs(ctx, a))}`;
    }
  }, 1000);

  return {
    render,
    select,
    /** The selected card as it is on screen: the id and version a key press acts on. */
    target() {
      const c = ui.selected ? cache.get(ui.selected) : null;
      const a = ui.selected ? store.get(ui.selected) : null;
      return c && a ? { id: a.id, version: c.version, state: c.el.dataset.state } : null;
    },
    move(dx, dy) {
      if (!order.length) return null;
      const cols = getComputedStyle(cards).gridTemplateColumns.split(' ').filter(Boolean).length || 1;
      let i = Math.max(0, order.indexOf(ui.selected));
      i = Math.min(order.length - 1, Math.max(0, i + dx + dy * cols));
      select(order[i]);
      return order[i];
    },
  };
}
