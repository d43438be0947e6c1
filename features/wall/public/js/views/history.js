// History: every alert in scope, searchable, paged by cursor.
import { $, h } from '../dom.js';
import { gridPathText, stateBadge, typeBadge } from './alert-parts.js';

export function createHistoryView(ctx, { onOpen }) {
  let q = '';
  let cursor = null;
  let items = [];
  let seq = 0;

  function row(a) {
    return h(
      'tr',
      { class: 'clickable', 'data-id': a.id, onclick: () => onOpen(a) },
      h('td', {}, h('span', { class: 'time' }, ctx.fmt.time(a.createdAt))),
      h('td', {}, typeBadge(ctx, a.type, true)),
      h('td', { raw: true }, gridPathText(a, 1)),
      h('td', { raw: true }, a.cameraName),
      h('td', {}, stateBadge(ctx, a.state)),
    );
  }
  const render = () => $('history-rows').replaceChildren(...items.map(row));

  async function load(reset) {
    if (reset) {
      q = $('history-q').value.trim();
      cursor = null;
      items = [];
    }
    // A slower earlier search must not append its rows to a newer one.
    const mine = ++seq;
    const qs = new URLSearchParams({ limit: '50', state: ctx.meta.states.join(',') });
    if (q) qs.set('q', q);
    if (cursor) qs.set('cursor', cursor);
    try {
      const page = await ctx.api.get(`/alerts?${qs}`);
      if (mine !== seq) return;
      items.push(...page.items);
      cursor = page.nextCursor;
      $('history-more').hidden = !cursor;
      render();
    } catch (err) {
      ctx.report(err);
    }
  }

  $('history-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load(true);
  });
  $('history-more').addEventListener('click', () => void load(false));
  return {
    show() {
      // The rows already here, in the current language, until the fresh page arrives.
      render();
      return load(true);
    },
    render,
    focus: () => $('history-q').focus(),
  };
}
