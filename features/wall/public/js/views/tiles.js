// The split-screen video wall (分屏): 1, 4, 9 or 16 live cameras at once, chosen by grid or
// by alert. Each tile asks the server for its own scope-checked live ticket (POST
// /cameras/:id/live) and plays it over a WebSocket with mpegts.js; a tile that leaves the screen destroys its
// player, which ends its stream, so the gateway's relay stops once nobody watches the camera.
// Keys: 1–4 pick 1/4/9/16 tiles, arrows move the focus, Enter shows the focused camera alone
// (Enter again goes back), PageDown/PageUp the next or previous cameras, G/A by grid or by alert.
import { $, h } from '../dom.js';
import { createLivePlayer } from '../live-player.js';

export const LAYOUTS = [1, 4, 9, 16];
/** Camera states with video to show (a degraded camera still streams, unsteadily). */
const PLAYABLE = new Set(['online', 'degraded']);

export function createTilesView(ctx) {
  const { store, t } = ctx;
  const ui = store.ui;
  const state = {
    layout: 4,
    /** Layout to go back to after Enter showed one camera alone. */
    soloFrom: null,
    page: 0,
    focus: 0,
    /** 'grid': the cameras of the grid filter; 'alert': the cameras of open alerts, newest first. */
    source: 'grid',
    grid: '',
    cameras: [],
  };
  /** cameraId → { el, player, cameraId } for the tiles on screen. */
  const tiles = new Map();
  let shown = false;

  const root = () => $('tiles-grid');

  function candidates() {
    const cams = state.cameras.filter((c) => c.sourceKind !== 'snapshot');
    if (state.source === 'alert') {
      const seen = new Set();
      const out = [];
      const open = [...store.alerts.values()]
        .filter((a) => ctx.meta.isOpen(a.state))
        .sort((x, y) => y.createdAt - x.createdAt);
      for (const a of open) {
        const c = cams.find((x) => x.id === a.cameraId);
        if (c && !seen.has(c.id)) {
          seen.add(c.id);
          out.push(c);
        }
      }
      return out;
    }
    const g = state.grid;
    return g ? cams.filter((c) => c.gridCode === g || c.gridCode.startsWith(g)) : cams;
  }

  function pageOf(list) {
    const pages = Math.max(1, Math.ceil(list.length / state.layout));
    state.page = Math.min(state.page, pages - 1);
    return { pages, items: list.slice(state.page * state.layout, (state.page + 1) * state.layout) };
  }

  function destroy(tile) {
    tile.player?.destroy();
    tile.player = null;
  }

  /** A tile's status line; kept as a function so a language switch redraws it. */
  function setStatus(tile, text, title = '') {
    tile.statusText = text;
    const el = tile.el.querySelector('.tile-status');
    el.textContent = text();
    el.title = title;
  }

  async function play(tile, cam) {
    const video = tile.el.querySelector('video');
    if (!PLAYABLE.has(cam.state)) {
      tile.el.dataset.tile = 'offline';
      setStatus(tile, () => t(`cam_${cam.state}`));
      return;
    }
    if (!window.mpegts?.getFeatureList().mseLivePlayback) {
      tile.el.dataset.tile = 'error';
      setStatus(tile, () => t('no_video'));
      return;
    }
    tile.el.dataset.tile = 'loading';
    setStatus(tile, () => t('loading_video'));
    try {
      const ticket = await ctx.api.post(`/cameras/${encodeURIComponent(cam.id)}/live`);
      if (tiles.get(cam.id) !== tile || !shown) return;
      // WS-FLV, not HTTP-FLV: a browser opens only six HTTP/1.1 connections per origin, and
      // nine or sixteen streams would hold them all (every other request of the page waiting).
      const ws = new URL(ticket.wsFlvUrl, location.href);
      ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
      tile.player = createLivePlayer({
        url: ws.href,
        video,
        onError: (type, detail) => {
          tile.el.dataset.tile = 'error';
          // mpegts error types are NetworkError, MediaError, OtherError; the detail is English.
          setStatus(tile, () => t('paren', { a: t('no_video'), b: t(`live_${type}`) }), String(detail));
        },
        onPlaying: () => {
          tile.el.dataset.tile = 'playing';
          setStatus(tile, () => '');
        },
      });
    } catch (err) {
      tile.el.dataset.tile = 'error';
      setStatus(tile, () => t('colon', { a: t('no_video'), b: ctx.errorMessage(err) }));
    }
  }

  function tileEl(cam) {
    return h(
      'div',
      { class: 'tile', 'data-camera': cam.id, 'data-tile': 'idle' },
      h('video', { muted: true, playsinline: true, autoplay: true }),
      h('div', { class: 'tile-label', raw: true }, cam.name),
      h('p', { class: 'tile-status' }),
    );
  }

  function render() {
    if (!shown) return;
    const list = candidates();
    const { pages, items } = pageOf(list);
    const keep = new Set(items.map((c) => c.id));
    for (const [id, tile] of tiles) {
      if (!keep.has(id)) {
        destroy(tile);
        tile.el.remove();
        tiles.delete(id);
      }
    }
    const els = items.map((cam) => {
      let tile = tiles.get(cam.id);
      if (!tile) {
        tile = { el: tileEl(cam), player: null, cameraId: cam.id, statusText: () => '' };
        tiles.set(cam.id, tile);
        void play(tile, cam);
      } else {
        tile.el.querySelector('.tile-status').textContent = tile.statusText();
      }
      return tile.el;
    });
    state.focus = Math.min(state.focus, Math.max(0, items.length - 1));
    els.forEach((el, i) => el.classList.toggle('focused', i === state.focus));
    const grid = root();
    grid.dataset.layout = String(state.layout);
    grid.style.setProperty('--n', String(Math.sqrt(state.layout)));
    grid.replaceChildren(...els);
    if (!items.length) grid.append(h('p', { class: 'muted tiles-empty' }, t('tiles_empty')));
    $('tiles-info').textContent = t('tiles_info', {
      n: state.layout,
      page: state.page + 1,
      pages,
      count: list.length,
    });
    document.querySelectorAll('#tiles-layouts button').forEach((b) => {
      b.classList.toggle('active', Number(b.dataset.layout) === state.layout);
    });
    $('tiles-source').value = state.source;
    $('tiles-grid-filter').disabled = state.source !== 'grid';
  }

  function renderControls() {
    $('tiles-layouts').replaceChildren(
      ...LAYOUTS.map((n, i) =>
        h(
          'button',
          { type: 'button', 'data-layout': n, onclick: () => setLayout(n) },
          h('kbd', { raw: true }, String(i + 1)),
          t('tiles_layout', { n }),
        ),
      ),
    );
    const opt = (value, label, sel, isData = false) =>
      h('option', { value, selected: sel, raw: isData }, label);
    $('tiles-source').replaceChildren(
      opt('grid', t('tiles_by_grid'), state.source === 'grid'),
      opt('alert', t('tiles_by_alert'), state.source === 'alert'),
    );
    $('tiles-grid-filter').replaceChildren(
      opt('', t('all'), !state.grid),
      ...ui.gridOptions.map((g) =>
        opt(g.code, `${'　'.repeat(g.depth)}${g.name}`, state.grid === g.code, true),
      ),
    );
  }

  function setLayout(n) {
    state.layout = n;
    state.soloFrom = null;
    state.page = 0;
    state.focus = 0;
    render();
  }

  function moveFocus(dx, dy) {
    const side = Math.sqrt(state.layout);
    const count = root().querySelectorAll('.tile').length;
    if (!count) return;
    const x = (state.focus % side) + dx;
    const y = Math.floor(state.focus / side) + dy;
    if (x < 0 || x >= side || y < 0) return;
    const next = y * side + x;
    if (next >= count) return;
    state.focus = next;
    root()
      .querySelectorAll('.tile')
      .forEach((el, i) => el.classList.toggle('focused', i === next));
  }

  function solo() {
    const list = candidates();
    if (state.soloFrom !== null) {
      // Back to the layout it came from, on the page that holds the camera.
      const index = state.page;
      state.layout = state.soloFrom;
      state.soloFrom = null;
      state.page = Math.floor(index / state.layout);
      state.focus = index % state.layout;
    } else {
      const index = state.page * state.layout + state.focus;
      if (index >= list.length) return;
      state.soloFrom = state.layout;
      state.layout = 1;
      state.page = index;
      state.focus = 0;
    }
    render();
  }

  async function loadCameras() {
    try {
      state.cameras = await ctx.api.get('/cameras');
    } catch (err) {
      ctx.report(err);
    }
  }

  $('tiles-source').addEventListener('change', (ev) => {
    state.source = ev.target.value;
    state.page = 0;
    ev.target.blur();
    render();
  });
  $('tiles-grid-filter').addEventListener('change', (ev) => {
    state.grid = ev.target.value;
    state.page = 0;
    ev.target.blur();
    render();
  });
  store.subscribe((c) => {
    // By alert, the tiles follow the open alerts as they come and go.
    if (shown && state.source === 'alert' && c.type === 'alert') render();
    if (shown && c.type === 'lang') {
      renderControls();
      render();
    }
  });

  return {
    async show() {
      shown = true;
      renderControls();
      await loadCameras();
      render();
    },
    /** Leaving the view ends every stream. */
    hide() {
      shown = false;
      for (const tile of tiles.values()) destroy(tile);
      tiles.clear();
      root().replaceChildren();
    },
    get shown() {
      return shown;
    },
    /** A camera's state changed (socket push): a tile waiting for it starts playing. */
    cameraChanged(c) {
      const i = state.cameras.findIndex((x) => x.id === c.id);
      if (i < 0) return;
      const cam = { ...state.cameras[i], ...c };
      state.cameras[i] = cam;
      const tile = tiles.get(c.id);
      if (shown && tile && !tile.player && PLAYABLE.has(cam.state)) void play(tile, cam);
      else if (shown && tile && !tile.player) {
        setStatus(tile, () => t(`cam_${cam.state}`));
      }
    },
    /** Handles a key on this view; returns whether it was one of its keys. */
    onKey(k) {
      const n = Number(k);
      if (n >= 1 && n <= LAYOUTS.length) setLayout(LAYOUTS[n - 1]);
      else if (k === 'ArrowLeft') moveFocus(-1, 0);
      else if (k === 'ArrowRight') moveFocus(1, 0);
      else if (k === 'ArrowUp') moveFocus(0, -1);
      else if (k === 'ArrowDown') moveFocus(0, 1);
      else if (k === 'Enter') solo();
      else if (k === 'PageDown' || k === 'PageUp') {
        const pages = Math.max(1, Math.ceil(candidates().length / state.layout));
        state.page = (state.page + (k === 'PageDown' ? 1 : pages - 1)) % pages;
        state.focus = 0;
        render();
      } else if (k.toLowerCase() === 'g' || k.toLowerCase() === 'a') {
        state.source = k.toLowerCase() === 'g' ? 'grid' : 'alert';
        state.page = 0;
        render();
      } else return false;
      return true;
    },
  };
}
