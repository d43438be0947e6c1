// Cameras by county with their state and, when not online, why (translated by reason code).
import { $, h, raw } from '../dom.js';

/** A camera reason is "<code>: <English detail>"; the page shows the code's text, the detail as tooltip. */
export function cameraReason(ctx, reason) {
  if (!reason) return '';
  const m = /^([a-zA-Z_]+)(?::\s*(.*))?$/s.exec(reason);
  const code = m?.[1] ?? 'unknown';
  let text;
  if (code.startsWith('GW_')) text = ctx.i18n.errorText(code);
  else if (ctx.i18n.has(`cam_reason_${code}`)) text = ctx.t(`cam_reason_${code}`);
  else {
    ctx.i18n.unknown(`cam_reason_${code}`);
    text = ctx.t('cam_reason_unknown');
  }
  return h('span', { class: 'reason', title: reason, 'data-code': code }, text);
}

/** How ingest samples the camera now (mode-choice.ts); the chooser's reason is the tooltip. */
function samplingText(ctx, c) {
  const i = c.ingest;
  if (!i) return '—';
  const mode = ctx.t(`cam_mode_${i.mode}`);
  const stretched = i.effectiveIntervalSec > i.intervalSec;
  const text = stretched
    ? ctx.t('sampling_stretched', { mode, sec: String(i.effectiveIntervalSec), orig: String(i.intervalSec) })
    : ctx.t('sampling_text', { mode, sec: String(i.intervalSec) });
  return h('span', { class: 'sampling', title: i.modeReason, 'data-mode': i.mode }, text);
}

export function createCamerasView(ctx) {
  const { store, t } = ctx;

  function row(c) {
    return h(
      'tr',
      { 'data-camera': c.id, 'data-state': c.state },
      h('td', { raw: true }, c.name),
      h('td', {}, h('span', { class: `pill ${c.state === 'online' ? 'ok' : 'bad'}` }, t(`cam_${c.state}`))),
      h('td', {}, cameraReason(ctx, c.reason)),
      h('td', {}, samplingText(ctx, c)),
      h('td', {}, c.lastFrameAt ? h('span', { class: 'time' }, ctx.fmt.time(c.lastFrameAt)) : '—'),
    );
  }

  function render() {
    const groups = new Map();
    for (const c of store.ui.cameras.values()) {
      const key = c.county?.code ?? '';
      if (!groups.has(key)) groups.set(key, { name: c.county?.name ?? null, cams: [] });
      groups.get(key).cams.push(c);
    }
    $('camera-panel').replaceChildren(
      ...[...groups.entries()].map(([code, g]) => {
        const online = g.cams.filter((c) => c.state === 'online').length;
        return h(
          'section',
          { class: 'county', 'data-county': code },
          h(
            'h3',
            {},
            g.name === null ? t('unassigned') : raw(g.name),
            h('span', { class: 'pill ok' }, `${t('online')} ${online}`),
            h('span', { class: 'pill bad' }, `${t('offline')} ${g.cams.length - online}`),
          ),
          h(
            'table',
            { class: 'table fixed' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, t('camera')),
                h('th', {}, t('state')),
                h('th', {}, t('reason')),
                h('th', {}, t('sampling')),
                h('th', {}, t('time')),
              ),
            ),
            h('tbody', {}, ...g.cams.map(row)),
          ),
        );
      }),
    );
  }

  async function show() {
    render();
    try {
      const list = await ctx.api.get('/cameras');
      store.ui.cameras = new Map(list.map((c) => [c.id, c]));
      render();
    } catch (err) {
      ctx.report(err);
    }
  }

  return {
    show,
    render,
    update(c) {
      const prev = store.ui.cameras.get(c.id);
      store.ui.cameras.set(c.id, { ...prev, ...c, county: prev?.county ?? null });
      if (store.ui.view === 'cameras') render();
    },
  };
}
