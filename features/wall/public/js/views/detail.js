// The detail panel of one alert. It shows that alert until the operator moves or closes it:
// after an action it redraws with the new state, the actions that state allows, and the audit
// trail fetched again, so the next key acts on the alert still on screen.
import { $, h, raw } from '../dom.js';
import { createLivePlayer } from '../live-player.js';
import { cameraText, evidenceEl, gridPathText, lastedMs, stateBadge, typeBadge } from './alert-parts.js';
import { auditItem } from './audit.js';
import { forwardingFact } from './forwarding.js';

const KEYS = { claim: 'C', confirm: 'Y', reject: 'N', escalate: 'E', release: '' };
const ORDER = ['claim', 'confirm', 'reject', 'escalate', 'release'];

export function createDetailView(ctx, { perform, openReasons, onClosed }) {
  const { store, t } = ctx;
  const ui = store.ui;
  const panel = $('detail');
  const note = $('detail-note');
  /** What the panel shows: { id, version, state } of the drawn alert. */
  let shown = null;
  let evidenceKey = '';
  let auditSeq = 0;
  let audit = null;
  /** 吹哨报到 of the shown alert (features/departments), null when none or the feature is off. */
  let whistle = null;
  /** Responsible grid workers of the shown alert (features/workers), null when the feature is off. */
  let team = null;
  let player = null;
  let liveCamera = null;

  function render(a) {
    shown = { id: a.id, version: a.version, state: a.state };
    panel.dataset.id = a.id;
    panel.dataset.state = a.state;
    panel.dataset.version = String(a.version);
    $('detail-title').replaceChildren(typeBadge(ctx, a.type), ' ', stateBadge(ctx, a.state));
    const ek = `${a.id}|${a.evidence.latest}|${a.evidence.first}|${a.evidence.firstSeen}|${ctx.i18n.lang}`;
    if (ek !== evidenceKey) {
      evidenceKey = ek;
      $('detail-latest').replaceWith(
        Object.assign(evidenceEl(ctx, a, 'latest', 'evidence big'), { id: 'detail-latest' }),
      );
      $('detail-first').replaceWith(
        Object.assign(evidenceEl(ctx, a, 'first', 'evidence big'), { id: 'detail-first' }),
      );
      // The frame the object was first seen in (kept by the detector): shows how long it has stood there.
      $('detail-firstseen-fig').hidden = !a.evidence.firstSeen;
      $('detail-firstseen').replaceWith(
        a.evidence.firstSeen
          ? Object.assign(evidenceEl(ctx, a, 'firstSeen', 'evidence big'), { id: 'detail-firstseen' })
          : Object.assign(h('div', { class: 'evidence big' }), { id: 'detail-firstseen' }),
      );
    }
    const stateText = [stateBadge(ctx, a.state)];
    if (a.claimedBy) stateText.push(' · ', raw(a.claimedBy.displayName));
    if (a.rejectReason) stateText.push(' · ', t(`reason_${a.rejectReason}`));
    const facts = [
      [t('grid'), raw(gridPathText(a))],
      [t('camera'), raw(cameraText(a))],
      [t('time'), h('span', { class: 'time' }, ctx.fmt.time(a.firstSeen))],
      [t('lasted'), ctx.fmt.duration(lastedMs(ctx, a))],
      [t('score'), a.score.toFixed(2)],
      [t('state'), h('span', {}, ...stateText)],
    ];
    if (a.forwarding) facts.push([t('forwarding'), forwardingFact(ctx, a)]);
    if (a.caseId) facts.push([t('case_id'), raw(a.caseId)]);
    if (a.source) {
      facts.push([
        t('fact_source'),
        raw(`${a.source.name}${a.source.summary ? ` · ${a.source.summary}` : ''}`),
      ]);
    }
    if (whistle && whistle.alertId === a.id) facts.push([t('fact_whistle'), whistleEl(ctx, whistle)]);
    if (team && team.alertId === a.id) {
      const canDispatch = ui.session?.user.role !== 'viewer' && ['confirmed', 'forwarded'].includes(a.state);
      facts.push([t('fact_team'), teamEl(ctx, team, canDispatch ? (w) => dispatch(a, w) : null)]);
    }
    if (a.assignment)
      facts.push([
        t('fact_assignment'),
        raw(a.assignment.workerName ?? t('assignment_team', { grid: a.assignment.gridCode })),
      ]);
    if (a.disposal)
      facts.push([
        t('fact_disposal'),
        h(
          'span',
          { class: 'disposal' },
          raw(`${a.disposal.workerName} · ${ctx.fmt.time(a.disposal.at)} · ${a.disposal.note}`),
          a.disposal.photo
            ? h('img', {
                class: 'evidence disposal-photo',
                alt: t('disposal_photo'),
                src: `/api/v1/workers/disposal-photo/${encodeURIComponent(a.id)}?v=${a.disposal.at}`,
              })
            : null,
        ),
      ]);
    // Why the detector raised it (rule, zone, dwell, scores), when the finding said.
    const w = a.why;
    const n2 = (v) => (typeof v === 'number' ? v.toFixed(2) : '–');
    if (w) {
      const vars = { rule: a.typeLabel?.[ctx.i18n.lang] ?? w.rule, zone: w.zoneName ?? w.zoneId ?? '–' };
      Object.assign(vars, {
        held: String(w.dwellSec ?? w.heldSec),
        score: n2(w.score),
        recheck: n2(w.recheckScore),
      });
      facts.push([t('why_raised'), raw(t('why_text', vars))]);
    }
    $('detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

    const canAct = ui.session?.user.role !== 'viewer';
    const allowed = canAct ? ctx.meta.actionsFor(a.state) : [];
    const btn = (action, kbd, fn) =>
      h(
        'button',
        { type: 'button', onclick: fn, 'data-action': action },
        kbd ? h('kbd', { raw: true }, kbd) : null,
        t(`act_${action}`),
      );
    const buttons = ORDER.filter((x) => allowed.includes(x)).map((x) =>
      btn(x, KEYS[x], () => (x === 'reject' ? openReasons(target()) : act({ action: x }))),
    );
    $('detail-actions').replaceChildren(
      ...buttons,
      ...(canAct && !buttons.length ? [h('p', { class: 'muted hint' }, t('actions_none'))] : []),
      btn('close', 'Esc', close),
    );
    $('detail-hint').textContent = canAct && !ctx.meta.awaitsOperator(a.state) ? t('detail_done') : '';
    const noteBox = $('detail-note-box');
    noteBox.hidden = !allowed.includes('note');
    renderAudit();
  }

  function renderAudit() {
    $('detail-audit').replaceChildren(...(audit ?? []).map((e) => auditItem(ctx, e)));
  }

  async function loadAudit(id) {
    const seq = ++auditSeq;
    try {
      const d = await ctx.api.get(`/alerts/${encodeURIComponent(id)}`);
      if (seq !== auditSeq || ui.detailId !== id) return;
      audit = d.audit;
      // Asked only for alerts the departments feature has written to (no request, so no 404,
      // where it is off).
      whistle = d.audit.some((e) => e.actor === 'system:departments')
        ? await ctx.api.get(`/departments/whistles/${encodeURIComponent(id)}`).catch(() => null)
        : null;
      team = ctx.meta.raw.features?.includes('workers')
        ? await ctx.api.get(`/workers/responsible/${encodeURIComponent(id)}`).catch(() => null)
        : null;
      if (seq !== auditSeq || ui.detailId !== id) return;
      if (!store.upsert(d.alert)) render(store.get(id) ?? d.alert);
      // A notice still being delivered changes without an alert update: look again while it is.
      if (whistle?.calls.some((c) => c.notice && ['pending', 'failing'].includes(c.notice.status)))
        setTimeout(() => seq === auditSeq && ui.detailId === id && void loadAudit(id), NOTICE_POLL_MS);
    } catch (err) {
      ctx.report(err);
    }
  }

  /** The note typed in the panel, sent with the next confirm, reject or escalate. */
  function takeNote() {
    const v = note.value.trim();
    return v ? v.slice(0, 2_000) : undefined;
  }

  async function act(body) {
    const withNote = ['confirm', 'reject', 'escalate'].includes(body.action) ? takeNote() : undefined;
    const done = await perform(target(), withNote ? { ...body, note: withNote } : body);
    if (done && withNote) note.value = '';
    return done;
  }

  /** 派遣 to one worker (w) or to the grid's team (w null); the alert update redraws the panel. */
  async function dispatch(a, w) {
    try {
      await ctx.api.post(`/workers/dispatch/${encodeURIComponent(a.id)}`, {
        ...(w ? { workerId: w.id } : {}),
        version: a.version,
      });
    } catch (err) {
      ctx.report(err);
    }
  }

  function target() {
    return ui.detailId && shown?.id === ui.detailId ? { ...shown } : null;
  }

  function open(id) {
    const a = store.get(id);
    if (!a) return;
    if (ui.detailId !== id) {
      audit = null;
      whistle = null;
      team = null;
      note.value = '';
    }
    ui.detailId = id;
    panel.hidden = false;
    render(a);
    // Events-API alerts have no camera to play (features/events): their photos are the evidence.
    if (a.source) {
      stopLive();
      $('live-status').textContent = t('no_video');
    } else if (liveCamera !== a.cameraId) startLive(a.cameraId);
    void loadAudit(id);
  }

  function close() {
    if (!ui.detailId) return;
    ui.detailId = null;
    shown = null;
    panel.hidden = true;
    stopLive();
    onClosed();
  }

  function stopLive() {
    liveCamera = null;
    player?.destroy();
    player = null;
  }

  async function startLive(cameraId) {
    stopLive();
    liveCamera = cameraId;
    const status = $('live-status');
    const video = $('live-video');
    video.dataset.camera = cameraId;
    status.textContent = t('loading_video');
    if (!window.mpegts?.getFeatureList().mseLivePlayback) {
      status.textContent = t('no_video');
      return;
    }
    try {
      const ticket = await ctx.api.post(`/cameras/${encodeURIComponent(cameraId)}/live`);
      if (liveCamera !== cameraId) return;
      const url = new URL(ticket.flvUrl, location.href).href;
      player = createLivePlayer({
        url,
        video,
        onError: (type, detail) => {
          // mpegts error types are NetworkError, MediaError, OtherError; the detail is English.
          status.textContent = t('paren', { a: t('no_video'), b: t(`live_${type}`) });
          status.title = String(detail);
        },
        onPlaying: () => (status.textContent = ''),
      });
    } catch (err) {
      status.textContent = t('colon', { a: t('no_video'), b: ctx.errorMessage(err) });
    }
  }

  store.subscribe((c) => {
    if (!ui.detailId) return;
    if (c.type === 'alert' && c.id === ui.detailId) {
      render(c.alert);
      // The audit trail changes with the alert: fetch it again (the latest request wins).
      void loadAudit(c.id);
    } else if (c.type === 'lang') {
      evidenceKey = '';
      const a = store.get(ui.detailId);
      if (a) render(a);
    }
  });

  note.addEventListener('keydown', (ev) => {
    // Ctrl+Enter adds the note on its own.
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      const v = takeNote();
      if (v) void perform(target(), { action: 'note', note: v }).then((d) => d && (note.value = ''));
    }
  });
  $('detail-add-note').addEventListener('click', () => {
    const v = takeNote();
    if (v) void perform(target(), { action: 'note', note: v }).then((d) => d && (note.value = ''));
  });
  $('detail-close').addEventListener('click', close);

  return {
    open,
    close,
    act,
    target,
    get isOpen() {
      return ui.detailId !== null;
    },
    focusNote() {
      if (!$('detail-note-box').hidden) note.focus();
    },
    /** The note to send with a reject chosen in the reasons overlay. */
    takeNote,
    clearNote() {
      note.value = '';
    },
  };
}

/** How often an open detail panel re-reads a whistle whose notices are still being delivered. */
const NOTICE_POLL_MS = 5_000;

/** Where the notice to a department's system stands: sent, retrying or given up (attempts, error code). */
function noticeText(ctx, n) {
  if (n.status !== 'failing' && n.status !== 'failed') return ctx.t(`dept_notice_${n.status}`);
  const e = n.lastError;
  const why = e
    ? `${e.httpStatus !== null ? `HTTP ${e.httpStatus} ` : ''}${ctx.t(`fwd_err_${e.kind}`)}`
    : '—';
  return ctx.t(`dept_notice_${n.status}`, { n: n.attempts, why });
}

/** Which departments were called, who reported in and how long it took (or that they are late). */
function whistleEl(ctx, w) {
  const min = (ms) => Math.max(0, Math.round(ms / 60_000));
  return h(
    'ul',
    { class: 'whistle' },
    ...w.calls.map((c) => {
      const status =
        c.reportedAt !== null
          ? ctx.t('whistle_reported', { min: min(c.reportedAt - c.calledAt) }) +
            (c.overdueAt !== null ? ctx.t('whistle_late') : '')
          : c.overdueAt !== null
            ? ctx.t('whistle_overdue')
            : ctx.t('whistle_due', { time: ctx.fmt.time(c.dueAt) });
      return h(
        'li',
        { 'data-department': c.code },
        raw(`${c.name}: ${status}`),
        c.notice
          ? h('span', { class: 'notice', 'data-notice': c.notice.status }, ` · ${noticeText(ctx, c.notice)}`)
          : '',
      );
    }),
  );
}

/** The grid's 一长多员 team responsible for the alert, leader first; 派遣 buttons when allowed. */
function teamEl(ctx, t, onDispatch) {
  const en = ctx.i18n.lang === 'en';
  if (!t.workers.length) return h('span', { class: 'muted' }, ctx.t('team_nobody'));
  const btn = (label, w) =>
    h(
      'button',
      { type: 'button', class: 'small', 'data-dispatch': w ? w.id : 'team', onclick: () => onDispatch(w) },
      label,
    );
  return h(
    'ul',
    { class: 'team', 'data-grid': t.gridCode },
    ...t.workers.map((w) =>
      h(
        'li',
        { 'data-worker': w.id },
        raw(`${w.name}（${en ? w.roleEn : w.roleZh}）${w.phone ? ` ${w.phone}` : ''} `),
        onDispatch ? btn(ctx.t('team_dispatch'), w) : null,
      ),
    ),
    onDispatch ? h('li', {}, btn(ctx.t('team_dispatch_all'), null)) : null,
  );
}
