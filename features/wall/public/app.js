// The operator wall's entry: boot, wiring and the keyboard. Native ES modules (js/), no build step;
// all data arrives scope-checked by the server, and the constants come from GET /api/v1/meta.
import { createActions } from './js/actions.js';
import { createApi } from './js/api.js';
import { $, h, raw } from './js/dom.js';
import { createFormat } from './js/format.js';
import { createI18n } from './js/i18n.js';
import { loadMeta } from './js/meta.js';
import { createSocket } from './js/socket.js';
import { createStore } from './js/store.js';
import { createAdminView } from './js/views/admin.js';
import { createCamerasView } from './js/views/cameras.js';
import { createClusterView } from './js/views/cluster.js';
import { createDetailView } from './js/views/detail.js';
import { createHelpView } from './js/views/help.js';
import { createHistoryView } from './js/views/history.js';
import { createListView } from './js/views/list.js';
import { createLoginView } from './js/views/login.js';
import { createTilesView } from './js/views/tiles.js';
import { createMapView } from './js/views/map.js';
import { createStatsView } from './js/views/stats.js';

const VIEWS = ['wall', 'history', 'cameras', 'tiles', 'admin', 'cluster', 'map', 'stats'];
const ADMIN_VIEWS = ['admin', 'cluster'];

const store = createStore();
const ui = store.ui;
const i18n = createI18n(localStorage.getItem('gw.lang') ?? 'zh');
const t = (k, v) => i18n.t(k, v);
let meta = null;
let socket = null;
let connected = false;
let audio = null;
let toastTimer = null;

const ctx = {
  store,
  i18n,
  t,
  get meta() {
    return meta;
  },
  fmt: createFormat(i18n, () => meta),
  api: createApi({ csrf: () => ui.session?.csrfToken, onUnauthorized: () => showLogin() }),
  socket: () => socket,
  toast,
  report,
  errorMessage,
  unlockAudio,
};

function toast(msg, bad = false) {
  const el = $('toast');
  el.textContent = msg;
  el.className = bad ? 'toast bad' : 'toast';
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 4000);
}
/** The operator text for a failure: the catalogue text of its code, never the server's English. */
function errorMessage(err) {
  if (err?.local) return t(err.local);
  if (err?.code) return i18n.errorText(err.code);
  return t('unknown_error');
}
function report(err) {
  console.warn(err);
  toast(t('colon', { a: t('error'), b: errorMessage(err) }), true);
}

// Browsers allow audio only after a user gesture: the login and every key press unlock it.
function unlockAudio() {
  try {
    audio ??= new AudioContext();
    if (audio.state === 'suspended') audio.resume().catch((err) => console.warn('audio resume', err));
  } catch (err) {
    console.warn('no audio', err);
  }
}
function beep() {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.25, audio.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.3);
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps ?? 0) + 1);
  } catch (err) {
    // No audio device (or autoplay refused until a gesture): the title badge still shows.
    console.warn('beep failed', err);
  }
}

// ---------- views ----------
const actions = createActions(ctx);
const help = createHelpView(ctx);
const detail = createDetailView(ctx, {
  perform: (target, act) => actions.perform(target, act),
  openReasons: (target) => help.openReasons(target),
  onClosed: () => {},
});
const list = createListView(ctx, { onOpen: (id) => detail.open(id) });
const history = createHistoryView(ctx, {
  onOpen: (a) => {
    store.upsert(a);
    detail.open(a.id);
  },
});
const cameras = createCamerasView(ctx);
const admin = createAdminView(ctx);
const clusterView = createClusterView(ctx);
const tiles = createTilesView(ctx);
// Opening an alert from the map: the full alert (with its audit) comes from the server first.
const mapView = createMapView(ctx, {
  onOpen: (id) =>
    void ctx.api
      .get(`/alerts/${encodeURIComponent(id)}`)
      .then(({ alert }) => {
        store.upsert(alert);
        detail.open(alert.id);
      })
      .catch(report),
});
const stats = createStatsView(ctx);
const login = createLoginView(ctx, { onSession: (s) => enter(s) });

function show(view) {
  if (!VIEWS.includes(view)) view = 'wall';
  if (ADMIN_VIEWS.includes(view) && ui.session?.user.role !== 'admin') view = 'wall';
  ui.view = view;
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('active', a.dataset.view === view));
  if (view === 'history') void history.show();
  if (view === 'cameras') void cameras.show();
  if (view === 'admin') void admin.show();
  if (view === 'cluster') void clusterView.show();
  // The split wall plays only while it is on screen: leaving it ends every stream.
  if (view === 'tiles') void tiles.show();
  else if (tiles.shown) tiles.hide();
  if (view === 'map') void mapView.show();
  if (view === 'stats') void stats.show();
}

function renderConn() {
  const el = $('conn');
  el.className = connected ? 'conn on' : 'conn off';
  el.textContent = t(connected ? 'connected' : 'disconnected');
}

function renderFilters() {
  const opt = (value, label, sel, isData = false) =>
    h('option', { value, selected: sel, raw: isData }, label);
  const f = ui.filters;
  $('f-grid').replaceChildren(
    opt('', t('all'), !f.grid),
    ...ui.gridOptions.map((g) => opt(g.code, `${'　'.repeat(g.depth)}${g.name}`, f.grid === g.code, true)),
  );
  $('f-type').replaceChildren(
    opt('', t('all'), !f.type),
    ...(meta ? [...meta.types.values()] : []).map((ti) =>
      opt(ti.type, i18n.lang === 'zh' ? ti.zh : ti.en, f.type === ti.type),
    ),
  );
  $('f-state').replaceChildren(
    opt('open', t('open_only'), f.state === 'open'),
    opt('all', t('all'), f.state === 'all'),
    ...(meta?.states ?? []).map((s) => opt(s, t(`state_${s}`), f.state === s)),
  );
}

function applyLanguage() {
  document.querySelectorAll('[data-t]').forEach((el) => (el.textContent = t(el.dataset.t)));
  document.querySelectorAll('[data-tp]').forEach((el) => el.setAttribute('placeholder', t(el.dataset.tp)));
  document
    .querySelectorAll('.lang-switch')
    .forEach((el) => (el.textContent = i18n.lang === 'zh' ? 'English' : '中文'));
  help.render();
  if (meta) {
    renderFilters();
    $('tz').replaceChildren(`${t('tz')} `, raw(ctx.fmt.zone()));
  }
  renderConn();
  if (ui.session) {
    const u = ui.session.user;
    $('whoami').replaceChildren(
      raw(u.displayName),
      ` · ${t(`role_${u.role}`)} · `,
      raw(ui.session.scopeName),
    );
    store.touch('lang');
    if (ui.view === 'history') history.render();
    if (ui.view === 'cameras') cameras.render();
    if (ui.view === 'admin') void admin.show();
    if (ui.view === 'cluster') void clusterView.show();
    if (ui.view === 'map') mapView.render();
    if (ui.view === 'stats') stats.render();
  }
}

// ---------- keyboard ----------
function onKey(ev) {
  unlockAudio();
  const k = ev.key;
  const inField = ['INPUT', 'SELECT', 'TEXTAREA'].includes(document.activeElement?.tagName);
  if (k === 'Escape') {
    if (help.reasonsOpen || help.helpOpen) help.closeOverlays();
    else if (inField) document.activeElement.blur();
    else if (detail.isOpen) detail.close();
    ev.preventDefault();
    return;
  }
  if (inField || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (help.reasonsOpen) {
    const n = Number(k);
    const picked = n >= 1 && n <= 4 ? help.pickReason(n) : null;
    if (picked) {
      const { target, reason } = picked;
      const fromDetail = detail.target()?.id === target.id;
      const note = fromDetail ? detail.takeNote() : undefined;
      void actions
        .perform(target, { action: 'reject', reason, ...(note ? { note } : {}) })
        .then((done) => done && fromDetail && note && detail.clearNote());
    }
    ev.preventDefault();
    return;
  }
  if (k === '?') {
    help.toggleHelp();
    ev.preventDefault();
    return;
  }
  if (k === '/') {
    detail.close();
    location.hash = '#history';
    setTimeout(() => history.focus(), 0);
    ev.preventDefault();
    return;
  }
  if (ui.view === 'tiles' && !detail.isOpen) {
    if (tiles.onKey(k)) ev.preventDefault();
    return;
  }
  if (ui.view !== 'wall' && !detail.isOpen) return;
  // What the key acts on is what is on screen: the open detail, else the highlighted card.
  const inDetail = detail.isOpen;
  const target = inDetail ? detail.target() : list.target();
  const act = (body) => (inDetail ? detail.act(body) : actions.perform(target, body));
  const lower = k.toLowerCase();
  const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  if (moves[k] && ui.view === 'wall') {
    const id = list.move(...moves[k]);
    if (id && inDetail) detail.open(id);
  } else if (k === 'Enter') {
    if (!inDetail && target) detail.open(target.id);
  } else if (lower === 'c') {
    void act({ action: 'claim' });
  } else if (lower === 'y') {
    void act({ action: 'confirm' });
  } else if (lower === 'n' || lower === 'r') {
    if (target && meta.allows(target.state, 'reject')) help.openReasons(target);
    else void act({ action: 'reject' });
  } else if (lower === 'e') {
    void act({ action: 'escalate' });
  } else if (lower === 'm') {
    if (!inDetail && target) detail.open(target.id);
    detail.focusNote();
  } else return;
  ev.preventDefault();
}

// ---------- session and socket ----------
function showLogin() {
  socket?.close();
  socket = null;
  connected = false;
  ui.session = null;
  detail.close();
  if (tiles.shown) tiles.hide();
  login.show();
}

function flattenGrid(node, depth, out) {
  if (node.level !== 'grid') out.push({ code: node.code, name: node.name, depth });
  for (const c of node.children) flattenGrid(c, depth + 1, out);
  return out;
}

async function enter(session) {
  ui.session = session;
  login.hide();
  $('nav-admin').hidden = session.user.role !== 'admin';
  $('nav-cluster').hidden = session.user.role !== 'admin';
  const [tree, page] = await Promise.all([ctx.api.get('/grids'), ctx.api.get('/alerts?limit=200')]);
  ui.gridOptions = flattenGrid(tree, 0, []);
  store.replaceAll(page.items);
  applyLanguage();
  show((location.hash || '#wall').slice(1));
  connect();
}

function connect() {
  socket = createSocket({
    onState(on) {
      connected = on;
      renderConn();
    },
    async onHello(hello) {
      document.body.dataset.socket = hello.recovered ? 'recovered' : 'connected';
      if (hello.recovered) return;
      try {
        const r = await socket.request('alerts:sync', { since: store.lastUpdated, limit: 500 });
        for (const a of r.items) store.upsert(a);
      } catch (err) {
        report(err);
      }
    },
    onAlert(a, kind) {
      if (store.upsert(a, kind) && kind === 'new') beep();
    },
    onCamera(c) {
      cameras.update(c);
      tiles.cameraChanged(c);
      mapView.updateCamera(c);
    },
    onSuppression() {
      if (ui.view === 'admin') void admin.show();
    },
    onEnded: () => showLogin(),
    onAuthFailed: () => showLogin(),
  });
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
  $('logout').addEventListener('click', async () => {
    try {
      await ctx.api.del('/session');
    } catch (err) {
      report(err);
    }
    showLogin();
  });
  for (const [id, key] of [
    ['f-grid', 'grid'],
    ['f-type', 'type'],
    ['f-state', 'state'],
  ]) {
    $(id).addEventListener('change', (ev) => {
      ui.filters[key] = ev.target.value;
      ev.target.blur();
      store.touch('filters');
    });
  }
  window.addEventListener('hashchange', () => ui.session && show(location.hash.slice(1) || 'wall'));
  document.addEventListener('keydown', onKey);
  try {
    meta = await loadMeta(ctx.api);
    i18n.setErrors(meta.errors);
    applyLanguage();
  } catch (err) {
    report(err);
    return;
  }
  try {
    await enter(await ctx.api.get('/session'));
  } catch (err) {
    if (err.status !== 401) report(err);
    showLogin();
  }
}

void boot();
