// The operator wall. Plain ES module, no build step. All data arrives scope-checked by the
// server; this page only filters and displays. Text from the server goes in via textContent.
import { io } from '/socket.io/socket.io.esm.min.js';
import { createI18n } from '/i18n.js';

const PROTOCOL = 1;
const OPEN_STATES = ['new', 'claimed', 'escalated'];
const DONE_STATES = ['confirmed', 'rejected', 'forwarded', 'dispatched', 'handled', 'verified', 'closed'];
const REASONS = ['false_detection', 'not_violation', 'duplicate', 'other'];
// One CJK glyph per type, in a coloured badge: readable at a distance and needs no emoji font.
const DEFAULT_ICONS = {
  illegal_parking: '停',
  street_vending: '摊',
  crowd_gathering: '聚',
  road_obstruction: '障',
  fire_smoke: '火',
  camera_offline: '断',
};
const EMOJI = /\p{Extended_Pictographic}/u;
const DEFAULT_COLORS = {
  illegal_parking: '#f0883e',
  street_vending: '#d2a8ff',
  crowd_gathering: '#58a6ff',
  road_obstruction: '#e3b341',
  fire_smoke: '#ff5c5c',
  camera_offline: '#8b949e',
};

const i18n = createI18n(localStorage.getItem('gw.lang') ?? 'zh');
const t = (k) => i18n.t(k);
const $ = (id) => document.getElementById(id);

const state = {
  session: null,
  socket: null,
  types: new Map(),
  alerts: new Map(),
  lastUpdated: 0,
  selected: null,
  order: [],
  detailOpen: false,
  view: 'wall',
  filters: { grid: '', type: '', state: 'open' },
  gridOptions: [],
  history: { q: '', cursor: null, items: [] },
  player: null,
  audio: null,
  cameras: new Map(),
};

// ---------- helpers ----------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const svgNs = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const el = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.session) headers['X-CSRF-Token'] = state.session.csrfToken;
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = res.headers.get('content-type')?.includes('application/json') ? await res.json() : null;
  if (!res.ok) {
    if (res.status === 401 && path !== '/session') showLogin();
    throw new ApiError(res.status, json);
  }
  return json;
}

let toastTimer = null;
function toast(msg, bad = false) {
  const el = $('toast');
  el.textContent = msg;
  el.className = bad ? 'toast bad' : 'toast';
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 4000);
}
function report(err) {
  console.error(err);
  toast(`${t('error')}: ${err.message}`, true);
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}${t('sec')}`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}${t('min')}${String(s % 60).padStart(2, '0')}${t('sec')}`;
  const hr = Math.floor(m / 60);
  if (hr < 24) return `${hr}${t('hour')}${String(m % 60).padStart(2, '0')}${t('min')}`;
  return `${Math.floor(hr / 24)}${t('day')}${hr % 24}${t('hour')}`;
}
function lastedMs(a) {
  return (DONE_STATES.includes(a.state) ? a.lastSeen : Math.max(a.lastSeen, Date.now())) - a.firstSeen;
}
function fmtTime(ms) {
  return new Date(ms).toLocaleString(i18n.lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
}
function typeInfo(type) {
  const ti = state.types.get(type);
  return {
    label: ti ? (i18n.lang === 'zh' ? ti.zh : ti.en) : type,
    color: ti?.color ?? DEFAULT_COLORS[type] ?? '#3fb1ff',
    // Plugin icons may be emoji, which wall PCs often cannot render: prefer the glyph then.
    icon:
      (ti?.icon && !EMOJI.test(ti.icon) ? ti.icon : null) ??
      DEFAULT_ICONS[type] ??
      (ti?.zh ?? type).slice(0, 1),
  };
}
function typeLabel(a) {
  const ti = state.types.get(a.type);
  if (ti) return i18n.lang === 'zh' ? ti.zh : ti.en;
  return i18n.lang === 'zh' ? a.typeLabel.zh : a.typeLabel.en;
}
/** 县 › 乡镇 › 社区 › 网格: the city is the same for everyone, so it is left out. */
function gridPathEl(a) {
  const parts = a.gridPath.length > 1 ? a.gridPath.slice(1) : a.gridPath;
  const el = h('div', { class: 'gridpath' });
  parts.forEach((g, i) => {
    if (i) el.append(h('span', { class: 'sep' }, '›'));
    el.append(h('span', {}, g.name));
  });
  return el;
}
function evidenceEl(a, which, cls = 'evidence') {
  const box = h('div', { class: cls });
  if (a.evidence[which] ?? a.evidence.latest ?? a.evidence.first) {
    box.append(
      h('img', {
        src: `/api/v1/alerts/${encodeURIComponent(a.id)}/evidence/${which}?v=${encodeURIComponent(a.evidence[which] ?? '')}`,
        alt: typeLabel(a),
        loading: 'lazy',
        decoding: 'async',
      }),
    );
  } else {
    box.append(h('div', { class: 'noimg' }, '—'));
  }
  // Boxes drawn over the image from the alert's normalised coordinates.
  const s = svg('svg', { viewBox: '0 0 1 1', preserveAspectRatio: 'none' });
  const color = typeInfo(a.type).color;
  for (const b of a.boxes) {
    s.append(
      svg('rect', {
        x: b.x1,
        y: b.y1,
        width: Math.max(0, b.x2 - b.x1),
        height: Math.max(0, b.y2 - b.y1),
        fill: 'none',
        stroke: color,
        'stroke-width': 0.006,
        'vector-effect': 'non-scaling-stroke',
      }),
    );
  }
  s.querySelectorAll('rect').forEach((r) => r.setAttribute('stroke-width', '3'));
  box.append(s);
  return box;
}
function stateBadge(a) {
  return h('span', { class: `state-badge state-${a.state}`, 'data-state': a.state }, t(`state_${a.state}`));
}

// ---------- wall ----------
function visibleAlerts() {
  const f = state.filters;
  return [...state.alerts.values()]
    .filter((a) => !f.grid || a.gridPath.some((g) => g.code === f.grid))
    .filter((a) => !f.type || a.type === f.type)
    .filter((a) =>
      f.state === 'open' ? OPEN_STATES.includes(a.state) : f.state === 'all' ? true : a.state === f.state,
    )
    .sort((x, y) => y.createdAt - x.createdAt || (y.id < x.id ? -1 : 1));
}

function cardEl(a) {
  const ti = typeInfo(a.type);
  const claim =
    a.claimedBy && a.state === 'claimed'
      ? h('span', { class: 'claim' }, `${a.claimedBy.displayName} ${t('claimed_by')}`)
      : null;
  return h(
    'div',
    {
      class: `card${a.id === state.selected ? ' selected' : ''}${DONE_STATES.includes(a.state) ? ' done' : ''}`,
      role: 'option',
      'data-id': a.id,
      'data-state': a.state,
      style: `--type-color:${ti.color}`,
      onclick: () => {
        select(a.id);
        openDetail(a.id);
      },
    },
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'type-badge' }, h('span', { class: 'type-icon' }, ti.icon), typeLabel(a)),
      stateBadge(a),
    ),
    evidenceEl(a, 'latest'),
    h(
      'div',
      { class: 'card-body' },
      gridPathEl(a),
      h(
        'div',
        { class: 'meta' },
        h(
          'span',
          { class: 'camera', title: a.cameraName },
          `${a.cameraName}${a.zoneName ? ` · ${a.zoneName}` : ''}`,
        ),
        h(
          'span',
          { class: 'lasted', 'data-since': a.firstSeen },
          `${t('lasted')} ${fmtDuration(lastedMs(a))}`,
        ),
      ),
      claim,
    ),
  );
}

// Card elements are reused while an alert's version and the language stay the same, so a busy
// wall does not rebuild (and re-decode the evidence of) every card on each update.
const cardCache = new Map();
function cachedCard(a) {
  const c = cardCache.get(a.id);
  if (c && c.version === a.version && c.lang === i18n.lang) return c.el;
  const el = cardEl(a);
  if (c?.el.classList.contains('fresh')) el.classList.add('fresh');
  cardCache.set(a.id, { version: a.version, lang: i18n.lang, el });
  return el;
}

function renderWall() {
  const list = visibleAlerts();
  const cards = $('cards');
  cards.replaceChildren(...(list.length ? list.map(cachedCard) : [h('div', { class: 'empty' }, t('empty'))]));
  for (const id of cardCache.keys()) if (!state.alerts.has(id)) cardCache.delete(id);
  // A decided card leaves the queue: select the one that took its place, so Y/N clear it in order.
  if (state.selected && !list.some((a) => a.id === state.selected)) {
    const was = state.order.indexOf(state.selected);
    state.selected = list[Math.min(Math.max(was, 0), list.length - 1)]?.id ?? null;
  }
  state.order = list.map((a) => a.id);
  if (!state.selected && list.length) state.selected = list[0].id;
  cards.querySelectorAll('.card.selected').forEach((c) => c.classList.remove('selected'));
  if (state.selected)
    cards.querySelector(`[data-id="${CSS.escape(state.selected)}"]`)?.classList.add('selected');
  const open = [...state.alerts.values()].filter((a) => a.state === 'new').length;
  $('count').textContent = `${list.length} / ${state.alerts.size}`;
  document.title = open ? `(${open}) ${t('title')}` : t('title');
}

function select(id) {
  state.selected = id;
  const cards = $('cards');
  cards.querySelectorAll('.card.selected').forEach((c) => c.classList.remove('selected'));
  const el = cards.querySelector(`[data-id="${CSS.escape(id)}"]`);
  el?.classList.add('selected');
  el?.scrollIntoView({ block: 'nearest' });
}

function moveSelection(dx, dy) {
  const list = visibleAlerts();
  if (!list.length) return;
  const cols = getComputedStyle($('cards')).gridTemplateColumns.split(' ').filter(Boolean).length || 1;
  let i = Math.max(
    0,
    list.findIndex((a) => a.id === state.selected),
  );
  i = Math.min(list.length - 1, Math.max(0, i + dx + dy * cols));
  select(list[i].id);
  if (state.detailOpen) openDetail(list[i].id);
}

function upsert(a, kind) {
  const prev = state.alerts.get(a.id);
  if (prev && prev.version > a.version) return false;
  state.alerts.set(a.id, a);
  state.lastUpdated = Math.max(state.lastUpdated, a.updatedAt);
  if (kind === 'new' && !prev) {
    beep();
    requestAnimationFrame(() => {
      const el = $('cards').querySelector(`[data-id="${CSS.escape(a.id)}"]`);
      el?.classList.add('fresh');
      // Drop the class once the flash is over, so a reused element does not flash again.
      setTimeout(() => el?.classList.remove('fresh'), 2600);
    });
  }
  return true;
}

// Browsers allow audio only after a user gesture: the login and every key press unlock it.
function unlockAudio() {
  try {
    state.audio ??= new AudioContext();
    if (state.audio.state === 'suspended')
      state.audio.resume().catch((err) => console.warn('audio resume', err));
  } catch (err) {
    console.warn('no audio', err);
  }
}

function beep() {
  try {
    state.audio ??= new AudioContext();
    const ctx = state.audio;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.25, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.3);
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps ?? 0) + 1);
  } catch (err) {
    // No audio device (or autoplay refused until a gesture): the title badge still shows.
    console.warn('beep failed', err);
  }
}

// ---------- actions ----------
async function act(id, body) {
  if (!id) return;
  if (state.session.user.role === 'viewer') return toast(t('role_viewer'), true);
  const a = state.alerts.get(id);
  try {
    const updated = await emitAck('alert:act', { id, act: body });
    upsert(updated, 'update');
    renderWall();
    if (state.detailOpen && state.selected === id) renderDetail(updated);
    toast(`${t(`act_${body.action}`)} ✓ ${a ? typeLabel(a) : ''}`);
  } catch (err) {
    report(err);
  }
}

function emitAck(event, payload) {
  return new Promise((resolve, reject) => {
    if (!state.socket?.connected) return reject(new Error(t('disconnected')));
    state.socket.timeout(10_000).emit(event, payload, (err, res) => {
      if (err) return reject(err);
      if (!res.ok) return reject(Object.assign(new Error(res.error.message), res.error));
      resolve(res.data);
    });
  });
}

function openReasons() {
  if (!state.selected) return;
  $('reasons').hidden = false;
}
function closeOverlays() {
  $('reasons').hidden = true;
  $('help').hidden = true;
}

// ---------- detail ----------
async function openDetail(id) {
  const a = state.alerts.get(id);
  if (!a) return;
  state.detailOpen = true;
  $('detail').hidden = false;
  $('detail').dataset.id = id;
  renderDetail(a);
  startLive(a.cameraId);
  try {
    const d = await api('GET', `/alerts/${encodeURIComponent(id)}`);
    if ($('detail').dataset.id !== id) return;
    upsert(d.alert, 'update');
    renderDetail(d.alert, d.audit);
  } catch (err) {
    report(err);
  }
}

function renderDetail(a, audit) {
  const ti = typeInfo(a.type);
  $('detail-title').replaceChildren(
    h(
      'span',
      { class: 'type-badge', style: `--type-color:${ti.color}` },
      h('span', { class: 'type-icon' }, ti.icon),
      typeLabel(a),
    ),
    ' ',
    stateBadge(a),
  );
  $('detail-latest').replaceWith(
    Object.assign(evidenceEl(a, 'latest', 'evidence big'), { id: 'detail-latest' }),
  );
  $('detail-first').replaceWith(
    Object.assign(evidenceEl(a, 'first', 'evidence big'), { id: 'detail-first' }),
  );
  const facts = [
    [t('grid'), a.gridPath.map((g) => g.name).join(' › ')],
    [t('camera'), `${a.cameraName}${a.zoneName ? ` · ${a.zoneName}` : ''}`],
    [t('time'), fmtTime(a.firstSeen)],
    [t('lasted'), fmtDuration(lastedMs(a))],
    [t('score'), a.score.toFixed(2)],
    [
      t('state'),
      `${t(`state_${a.state}`)}${a.claimedBy ? ` · ${a.claimedBy.displayName}` : ''}${a.rejectReason ? ` · ${t(`reason_${a.rejectReason}`)}` : ''}`,
    ],
  ];
  if (a.caseId) facts.push([t('case_id'), a.caseId]);
  $('detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  const btn = (key, kbd, fn) =>
    h(
      'button',
      { type: 'button', onclick: fn, 'data-action': key },
      kbd ? h('kbd', {}, kbd) : null,
      t(`act_${key}`),
    );
  const canAct = state.session.user.role !== 'viewer';
  $('detail-actions').replaceChildren(
    ...(canAct
      ? [
          btn('claim', 'C', () => act(a.id, { action: 'claim' })),
          btn('confirm', 'Y', () => act(a.id, { action: 'confirm' })),
          btn('reject', 'N', openReasons),
          btn('escalate', 'E', () => act(a.id, { action: 'escalate' })),
          btn('release', '', () => act(a.id, { action: 'release' })),
        ]
      : []),
    btn('close', 'Esc', closeDetail),
  );
  if (audit) {
    $('detail-audit').replaceChildren(
      ...audit.map((e) =>
        h(
          'li',
          {},
          `${fmtTime(e.at)} · ${e.actor} · ${e.action}${e.from ? ` ${t(`state_${e.from}`)} → ` : ' → '}${t(`state_${e.to}`)}${e.note ? ` · ${e.note}` : ''}`,
        ),
      ),
    );
  }
}

function closeDetail() {
  state.detailOpen = false;
  $('detail').hidden = true;
  stopLive();
}

function stopLive() {
  if (state.player) {
    try {
      state.player.destroy();
    } catch (err) {
      console.warn('player destroy', err);
    }
    state.player = null;
  }
}

async function startLive(cameraId) {
  stopLive();
  const status = $('live-status');
  const video = $('live-video');
  video.dataset.camera = cameraId;
  status.textContent = t('loading_video');
  if (!window.mpegts?.getFeatureList().mseLivePlayback) {
    status.textContent = t('no_video');
    return;
  }
  try {
    const ticket = await api('POST', `/cameras/${encodeURIComponent(cameraId)}/live`);
    if (video.dataset.camera !== cameraId) return;
    const url = new URL(ticket.flvUrl, location.href).href;
    const player = window.mpegts.createPlayer(
      { type: 'flv', isLive: true, hasAudio: false, url },
      { enableStashBuffer: false, liveBufferLatencyChasing: true },
    );
    state.player = player;
    player.on(window.mpegts.Events.ERROR, (type, detail) => {
      status.textContent = `${t('no_video')} (${type}: ${detail})`;
    });
    player.attachMediaElement(video);
    player.load();
    const p = player.play();
    if (p?.catch) p.catch((err) => console.warn('play()', err));
    video.onplaying = () => (status.textContent = '');
  } catch (err) {
    status.textContent = `${t('no_video')}: ${err.message}`;
  }
}

// ---------- history, cameras, admin ----------
let historySeq = 0;
async function loadHistory(reset) {
  if (reset) state.history = { q: $('history-q').value.trim(), cursor: null, items: [] };
  // A slower earlier search must not append its rows to a newer one.
  const seq = ++historySeq;
  const qs = new URLSearchParams({ limit: '50', state: [...OPEN_STATES, ...DONE_STATES].join(',') });
  if (state.history.q) qs.set('q', state.history.q);
  if (state.history.cursor) qs.set('cursor', state.history.cursor);
  try {
    const page = await api('GET', `/alerts?${qs}`);
    if (seq !== historySeq) return;
    state.history.items.push(...page.items);
    state.history.cursor = page.nextCursor;
    $('history-more').hidden = !page.nextCursor;
    $('history-rows').replaceChildren(
      ...state.history.items.map((a) =>
        h(
          'tr',
          {
            class: 'clickable',
            'data-id': a.id,
            onclick: () => {
              upsert(a, 'update');
              state.selected = a.id;
              openDetail(a.id);
            },
          },
          h('td', {}, fmtTime(a.createdAt)),
          h(
            'td',
            {},
            h(
              'span',
              { class: 'type-badge small', style: `--type-color:${typeInfo(a.type).color}` },
              h('span', { class: 'type-icon' }, typeInfo(a.type).icon),
              typeLabel(a),
            ),
          ),
          h(
            'td',
            {},
            a.gridPath
              .slice(1)
              .map((g) => g.name)
              .join(' › '),
          ),
          h('td', {}, a.cameraName),
          h('td', {}, stateBadge(a)),
        ),
      ),
    );
  } catch (err) {
    report(err);
  }
}

function cameraRow(c) {
  return h(
    'tr',
    { 'data-camera': c.id, 'data-state': c.state },
    h('td', {}, c.name),
    h('td', {}, h('span', { class: `pill ${c.state === 'online' ? 'ok' : 'bad'}` }, t(`cam_${c.state}`))),
    h('td', {}, c.reason ?? ''),
    h('td', {}, c.lastFrameAt ? fmtTime(c.lastFrameAt) : '—'),
  );
}

async function loadCameras() {
  try {
    const list = await api('GET', '/cameras');
    state.cameras = new Map(list.map((c) => [c.id, c]));
    renderCameras();
  } catch (err) {
    report(err);
  }
}
function renderCameras() {
  const groups = new Map();
  for (const c of state.cameras.values()) {
    const key = c.county?.code ?? '';
    if (!groups.has(key)) groups.set(key, { name: c.county?.name ?? t('unassigned'), cams: [] });
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
          g.name,
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
              h('th', {}, t('time')),
            ),
          ),
          h('tbody', {}, ...g.cams.map(cameraRow)),
        ),
      );
    }),
  );
}

function table(headers, rows) {
  if (!rows.length) return h('p', { class: 'muted' }, t('none'));
  return h(
    'table',
    { class: 'table' },
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

async function loadAdmin() {
  try {
    const [cams, rejected, sup, dead, users, plugins] = await Promise.all([
      api('GET', '/cameras'),
      api('GET', '/admin/rejected-cameras'),
      api('GET', '/admin/suppressions'),
      api('GET', '/admin/dead-letters'),
      api('GET', '/admin/users'),
      api('GET', '/admin/plugins'),
    ]);
    const section = (key, el) =>
      h('section', { class: 'admin-section', 'data-section': key }, h('h2', {}, t(`admin_${key}`)), el);
    $('admin-panel').replaceChildren(
      section(
        'cameras',
        table(
          [t('camera'), 'ID', t('state'), t('reason'), t('county')],
          cams.map((c) => [
            c.name,
            c.id,
            t(`cam_${c.state}`),
            c.reason ?? '',
            c.county?.name ?? t('unassigned'),
          ]),
        ),
      ),
      section(
        'rejected',
        table(
          [t('file'), 'ID', t('error')],
          rejected.map((r) => [r.file, r.cameraId ?? '—', h('pre', {}, r.errors.join('\n'))]),
        ),
      ),
      section(
        'suppressions',
        table(
          [t('camera'), t('zone'), t('type'), t('action'), t('rejections'), t('time'), ''],
          sup.map((s) => [
            s.cameraId,
            s.zoneId ?? '—',
            typeInfo(s.type).label,
            s.action === 'suppress' ? t('suppressed') : `${t('raise_dwell')} ×${s.dwellFactor}`,
            s.rejections,
            fmtTime(s.createdAt),
            h(
              'button',
              {
                type: 'button',
                'data-undo': s.id,
                onclick: () => adminDo('DELETE', `/admin/suppressions/${encodeURIComponent(s.id)}`),
              },
              t('undo'),
            ),
          ]),
        ),
      ),
      section(
        'deadletters',
        table(
          [t('alert'), t('target'), t('attempts'), t('error'), t('time'), ''],
          dead.map((d) => [
            d.alertId,
            d.target,
            d.attempts,
            d.lastError,
            fmtTime(d.at),
            h(
              'button',
              {
                type: 'button',
                onclick: () => adminDo('POST', `/admin/dead-letters/${encodeURIComponent(d.id)}/retry`),
              },
              t('retry'),
            ),
          ]),
        ),
      ),
      section(
        'users',
        table(
          [t('username'), t('display_name'), t('role'), t('scope')],
          users.map((u) => [u.username, u.displayName, t(`role_${u.role}`), u.scope]),
        ),
      ),
      section(
        'plugins',
        table(
          [t('plugin')],
          plugins.map((p) => [typeof p === 'object' ? JSON.stringify(p) : String(p)]),
        ),
      ),
    );
  } catch (err) {
    report(err);
  }
}
async function adminDo(method, path) {
  try {
    await api(method, path);
    await loadAdmin();
  } catch (err) {
    report(err);
  }
}

// ---------- views and chrome ----------
function show(view) {
  if (view === 'admin' && state.session?.user.role !== 'admin') view = 'wall';
  state.view = view;
  for (const v of ['wall', 'history', 'cameras', 'admin']) $(`view-${v}`).hidden = v !== view;
  document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('active', a.dataset.view === view));
  if (view === 'history') loadHistory(true);
  if (view === 'cameras') loadCameras();
  if (view === 'admin') loadAdmin();
}

const SHORTCUTS = [
  ['← → ↑ ↓', 'k_move'],
  ['Enter', 'k_open'],
  ['C', 'k_claim'],
  ['Y', 'k_confirm'],
  ['N / R', 'k_reject'],
  ['E', 'k_escalate'],
  ['Esc', 'k_close'],
  ['/', 'k_search'],
  ['?', 'k_help'],
];
function applyLanguage() {
  document.querySelectorAll('[data-t]').forEach((el) => (el.textContent = t(el.dataset.t)));
  document.querySelectorAll('[data-tp]').forEach((el) => el.setAttribute('placeholder', t(el.dataset.tp)));
  document
    .querySelectorAll('.lang-switch')
    .forEach((el) => (el.textContent = i18n.lang === 'zh' ? 'English' : '中文'));
  $('shortcuts').replaceChildren(...SHORTCUTS.map(([k, d]) => h('span', {}, h('kbd', {}, k), t(d))));
  $('help-list').replaceChildren(
    ...SHORTCUTS.flatMap(([k, d]) => [h('dt', {}, h('kbd', {}, k)), h('dd', {}, t(d))]),
  );
  $('reason-list').replaceChildren(
    ...REASONS.map((r, i) => h('li', { 'data-reason': r }, h('kbd', {}, String(i + 1)), t(`reason_${r}`))),
  );
  renderFilters();
  if (state.session) {
    const u = state.session.user;
    $('whoami').textContent = `${u.displayName} · ${t(`role_${u.role}`)} · ${state.session.scopeName}`;
    renderWall();
    if (state.detailOpen && state.alerts.get(state.selected)) renderDetail(state.alerts.get(state.selected));
  }
}

function renderFilters() {
  const opt = (value, label, sel) => h('option', { value, selected: sel }, label);
  $('f-grid').replaceChildren(
    opt('', t('all'), !state.filters.grid),
    ...state.gridOptions.map((g) =>
      opt(g.code, `${'　'.repeat(g.depth)}${g.name}`, state.filters.grid === g.code),
    ),
  );
  $('f-type').replaceChildren(
    opt('', t('all'), !state.filters.type),
    ...[...state.types.values()].map((ti) =>
      opt(ti.type, i18n.lang === 'zh' ? ti.zh : ti.en, state.filters.type === ti.type),
    ),
  );
  $('f-state').replaceChildren(
    opt('open', t('open_only'), state.filters.state === 'open'),
    opt('all', t('all'), state.filters.state === 'all'),
    ...[...OPEN_STATES, ...DONE_STATES].map((s) => opt(s, t(`state_${s}`), state.filters.state === s)),
  );
}

function onKey(ev) {
  unlockAudio();
  const k = ev.key;
  const inField = ['INPUT', 'SELECT', 'TEXTAREA'].includes(document.activeElement?.tagName);
  if (k === 'Escape') {
    if (!$('reasons').hidden || !$('help').hidden) closeOverlays();
    else if (state.detailOpen) closeDetail();
    else if (inField) document.activeElement.blur();
    ev.preventDefault();
    return;
  }
  if (inField || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (!$('reasons').hidden) {
    const n = Number(k);
    if (n >= 1 && n <= REASONS.length) {
      closeOverlays();
      act(state.selected, { action: 'reject', reason: REASONS[n - 1] });
    }
    ev.preventDefault();
    return;
  }
  if (k === '?') {
    $('help').hidden = !$('help').hidden;
    ev.preventDefault();
    return;
  }
  if (k === '/') {
    closeDetail();
    location.hash = '#history';
    setTimeout(() => $('history-q').focus(), 0);
    ev.preventDefault();
    return;
  }
  if (state.view !== 'wall' && !state.detailOpen) return;
  const lower = k.toLowerCase();
  const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  if (moves[k] && state.view === 'wall') {
    moveSelection(...moves[k]);
  } else if (k === 'Enter') {
    if (state.selected) openDetail(state.selected);
  } else if (lower === 'c') {
    act(state.selected, { action: 'claim' });
  } else if (lower === 'y') {
    act(state.selected, { action: 'confirm' });
  } else if (lower === 'n' || lower === 'r') {
    openReasons();
  } else if (lower === 'e') {
    act(state.selected, { action: 'escalate' });
  } else return;
  ev.preventDefault();
}

// ---------- session and socket ----------
function showLogin() {
  state.socket?.close();
  state.socket = null;
  state.session = null;
  closeDetail();
  $('app').hidden = true;
  $('login-view').hidden = false;
  $('login-username').focus();
}

function flattenGrid(node, depth, out) {
  if (node.level !== 'grid') out.push({ code: node.code, name: node.name, depth });
  for (const c of node.children) flattenGrid(c, depth + 1, out);
  return out;
}

async function enter(session) {
  state.session = session;
  $('login-view').hidden = true;
  $('app').hidden = false;
  $('nav-admin').hidden = session.user.role !== 'admin';
  const [types, tree, page] = await Promise.all([
    api('GET', '/types'),
    api('GET', '/grids'),
    api('GET', '/alerts?limit=200'),
  ]);
  state.types = new Map(types.map((x) => [x.type, x]));
  state.gridOptions = flattenGrid(tree, 0, []);
  state.alerts.clear();
  for (const a of page.items) upsert(a, 'load');
  applyLanguage();
  show((location.hash || '#wall').slice(1));
  connect();
}

function connect() {
  // WebSocket first; long-polling when a proxy on the way refuses the upgrade.
  const socket = io({
    auth: { protocol: PROTOCOL },
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    withCredentials: true,
  });
  state.socket = socket;
  const conn = $('conn');
  socket.on('connect', () => {
    conn.className = 'conn on';
    conn.textContent = t('connected');
  });
  socket.on('disconnect', () => {
    conn.className = 'conn off';
    conn.textContent = t('disconnected');
  });
  socket.on('connect_error', (err) => {
    conn.className = 'conn off';
    conn.textContent = t('disconnected');
    if (err.data?.code === 'GW_UNAUTHORIZED') showLogin();
  });
  socket.on('wall:hello', async (hello) => {
    document.body.dataset.socket = hello.recovered ? 'recovered' : 'connected';
    if (hello.recovered) return;
    try {
      const r = await emitAck('alerts:sync', { since: state.lastUpdated, limit: 500 });
      for (const a of r.items) upsert(a, 'update');
      renderWall();
    } catch (err) {
      report(err);
    }
  });
  socket.on('alert:new', (a) => {
    if (upsert(a, 'new')) renderWall();
  });
  socket.on('alert:update', (a) => {
    if (!upsert(a, 'update')) return;
    renderWall();
    if (state.detailOpen && $('detail').dataset.id === a.id) renderDetail(a);
  });
  socket.on('camera:state', (c) => {
    const prev = state.cameras.get(c.id);
    state.cameras.set(c.id, { ...prev, ...c, county: prev?.county ?? null });
    if (state.view === 'cameras') renderCameras();
  });
  socket.on('suppression:changed', () => {
    if (state.view === 'admin') loadAdmin();
  });
  socket.on('session:ended', () => showLogin());
}

async function boot() {
  i18n.set(i18n.lang);
  applyLanguage();
  document.querySelectorAll('.lang-switch').forEach((b) =>
    b.addEventListener('click', () => {
      i18n.set(i18n.lang === 'zh' ? 'en' : 'zh');
      localStorage.setItem('gw.lang', i18n.lang);
      applyLanguage();
    }),
  );
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    unlockAudio();
    $('login-error').textContent = '';
    const fd = new FormData(ev.target);
    try {
      const s = await api('POST', '/session', { username: fd.get('username'), password: fd.get('password') });
      $('login-password').value = '';
      await enter(s);
    } catch (err) {
      $('login-error').textContent = `${t('loginFailed')}: ${err.message}`;
    }
  });
  $('logout').addEventListener('click', async () => {
    try {
      await api('DELETE', '/session');
    } catch (err) {
      report(err);
    }
    showLogin();
  });
  $('detail-close').addEventListener('click', closeDetail);
  $('history-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadHistory(true);
  });
  $('history-more').addEventListener('click', () => loadHistory(false));
  for (const [id, key] of [
    ['f-grid', 'grid'],
    ['f-type', 'type'],
    ['f-state', 'state'],
  ]) {
    $(id).addEventListener('change', (ev) => {
      state.filters[key] = ev.target.value;
      ev.target.blur();
      renderWall();
    });
  }
  window.addEventListener('hashchange', () => state.session && show(location.hash.slice(1) || 'wall'));
  document.addEventListener('keydown', onKey);
  // Durations tick without re-rendering the cards.
  setInterval(() => {
    document.querySelectorAll('.lasted[data-since]').forEach((el) => {
      const a = state.alerts.get(el.closest('[data-id]')?.dataset.id);
      if (a) el.textContent = `${t('lasted')} ${fmtDuration(lastedMs(a))}`;
    });
  }, 1000);
  try {
    const s = await api('GET', '/session');
    await enter(s);
  } catch (err) {
    if (err.status !== 401) report(err);
    showLogin();
  }
}

boot();
