// 一张图: the grids in scope on a plain background (no tile server: wall PCs are often offline;
// wall.map.tiles adds a city's own Tianditu or intranet tiles under them, see meta.mapTiles),
// open alerts as live markers, cameras as points. Leaflet with one canvas renderer draws the
// polygons (one canvas for thousands of grids, not thousands of SVG nodes); shapes come from
// GET /api/v1/map/grids already simplified for the zoom, so the page never simplifies.
import * as L from '/vendor/leaflet/leaflet-src.esm.js';
import { $, h, raw } from '../dom.js';

/** Shapes are refetched when the zoom moved this many levels from the one they were built for. */
const REFETCH_ZOOM_STEP = 2;
const CAMERA_COLORS = { online: '#3fb950', degraded: '#d29922', connecting: '#9aa7b4' };

function fillFor(n) {
  if (!n) return { fillColor: '#1f2630', fillOpacity: 0.35 };
  if (n < 3) return { fillColor: '#d29922', fillOpacity: 0.55 };
  return { fillColor: '#f85149', fillOpacity: 0.65 };
}

const toLatLngs = (rings) =>
  rings.map((poly) =>
    poly.map((flat) => {
      const out = [];
      for (let i = 0; i < flat.length; i += 2) out.push([flat[i + 1], flat[i]]);
      return out;
    }),
  );

export function createMapView(ctx, { onOpen }) {
  const { store, t } = ctx;
  let map = null;
  let renderer = null;
  let gridLayer = null;
  let countyLayer = null;
  let alertLayer = null;
  let cameraLayer = null;
  let loadedZoom = null;
  let loading = null;
  let selected = null;
  /** code → { grid, layer } */
  const grids = new Map();
  /** id → { a, marker } (open alerts only) */
  const alerts = new Map();
  /** id → { c, marker } */
  const cameras = new Map();
  const counts = new Map();
  /** Open alerts in scope when the server sent fewer markers than that (0: it sent them all). */
  let totalOpen = 0;
  const el = () => $('map-canvas');
  /** wall.map.tiles from /meta, or null. With crs gcj02 the server shifts every coordinate it sends. */
  const tiles = () => ctx.meta?.raw?.mapTiles ?? null;
  const crs = () => tiles()?.crs ?? 'wgs84';
  const q = () => (crs() === 'wgs84' ? '' : `crs=${crs()}`);
  let reloadAlerts = null;

  function typeLabel(type) {
    const ti = ctx.meta?.types.get(type);
    return ti ? (ctx.i18n.lang === 'zh' ? ti.zh : ti.en) : type;
  }
  const isOpen = (state) => ctx.meta?.isOpen(state) ?? false;

  function ensureMap() {
    if (map) return;
    renderer = L.canvas({ padding: 0.3 });
    map = L.map(el(), {
      preferCanvas: true,
      renderer,
      zoomControl: true,
      attributionControl: false,
      minZoom: 5,
      maxZoom: tiles()?.maxZoom ?? 18,
      keyboard: true,
    });
    const tl = tiles();
    if (tl) {
      // Tiles sit in the tile pane, under the overlay pane the grid canvas draws in.
      L.tileLayer(tl.url, {
        maxZoom: tl.maxZoom,
        attribution: tl.attribution,
        ...(tl.subdomains ? { subdomains: tl.subdomains } : {}),
      }).addTo(map);
      if (tl.attribution) L.control.attribution({ prefix: false }).addTo(map);
    }
    L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);
    countyLayer = L.layerGroup().addTo(map);
    alertLayer = L.layerGroup().addTo(map);
    cameraLayer = L.layerGroup().addTo(map);
    map.on('zoomend', () => {
      const z = Math.round(map.getZoom());
      el().dataset.zoom = String(z);
      if (loadedZoom !== null && Math.abs(z - loadedZoom) >= REFETCH_ZOOM_STEP) void requestGrids(z);
    });
  }

  function restyle(code) {
    const g = grids.get(code);
    if (!g) return;
    const sel = selected === code;
    g.layer.setStyle({
      ...fillFor(counts.get(code) ?? 0),
      color: sel ? '#3fb1ff' : '#30363d',
      weight: sel ? 2.5 : 0.6,
    });
  }

  function count(code, delta) {
    counts.set(code, Math.max(0, (counts.get(code) ?? 0) + delta));
    restyle(code);
  }

  // One shape load at a time; zoom changes during a load ask for the latest zoom once it ends.
  let gridsBusy = null;
  let wantZoom = null;
  function requestGrids(z) {
    wantZoom = z;
    // .finally runs after the assignment even when the loop has nothing to load (no await).
    gridsBusy ??= (async () => {
      while (wantZoom !== null) {
        const next = wantZoom;
        wantZoom = null;
        if (loadedZoom === null || Math.abs(next - loadedZoom) >= REFETCH_ZOOM_STEP) await loadGrids(next);
      }
    })()
      .catch((err) => ctx.report(err))
      .finally(() => {
        gridsBusy = null;
      });
    return gridsBusy;
  }

  /** Draws the grids of the scope for zoom `z` (fetch, then one canvas). Resolves after paint. */
  async function loadGrids(z) {
    const fetchStart = window.performance.now();
    const [fine, coarse] = await Promise.all([
      ctx.api.get(`/map/grids?zoom=${z}&level=grid${q() && `&${q()}`}`),
      ctx.api.get(`/map/grids?zoom=${z}&level=county${q() && `&${q()}`}`),
    ]);
    const drawStart = window.performance.now();
    const first = loadedZoom === null;
    loadedZoom = fine.zoom;
    gridLayer?.remove();
    grids.clear();
    gridLayer = L.layerGroup();
    for (const g of fine.grids) {
      const layer = L.polygon(toLatLngs(g.rings), {
        renderer,
        weight: 0.6,
        color: '#30363d',
        ...fillFor(counts.get(g.code) ?? 0),
        bubblingMouseEvents: false,
      });
      layer.on('click', () => select(g.code));
      grids.set(g.code, { grid: g, layer });
      gridLayer.addLayer(layer);
    }
    if (selected) restyle(selected);
    gridLayer.addTo(map);
    // Drawn after the grids, so they paint on top: county outlines, then camera points.
    cameraLayer.eachLayer((l) => l.bringToFront());
    countyLayer.clearLayers();
    for (const c of coarse.grids) {
      const outline = L.polygon(toLatLngs(c.rings), {
        renderer,
        color: '#8b949e',
        weight: 2,
        fill: false,
        interactive: false,
      });
      countyLayer.addLayer(outline);
      countyLayer.addLayer(
        L.tooltip({ permanent: true, direction: 'center', className: 'county-label', interactive: false })
          .setLatLng(outline.getBounds().getCenter())
          .setContent(raw(c.name)),
      );
    }
    if (first) {
      const all = L.featureGroup([...grids.values()].map((g) => g.layer));
      if (all.getLayers().length) map.fitBounds(all.getBounds(), { animate: false });
    }
    // The canvas paints on the next animation frame: wait for it, so the figure is the paint.
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const done = window.performance.now();
    const box = el();
    box.dataset.grids = String(fine.grids.length);
    box.dataset.counties = String(coarse.grids.length);
    box.dataset.fetchMs = String(Math.round(drawStart - fetchStart));
    box.dataset.drawMs = String(Math.round(done - drawStart));
    box.dataset.loadedZoom = String(loadedZoom);
    box.dataset.zoom = String(Math.round(map.getZoom()));
  }

  function alertIcon(a) {
    const ti = ctx.meta?.types.get(a.type);
    const dot = h('span', { class: 'map-alert-dot', style: `background:${ti?.color ?? '#f85149'}` });
    return L.divIcon({ className: 'map-alert', html: dot, iconSize: [18, 18], iconAnchor: [9, 9] });
  }

  function putAlert(a) {
    const prev = alerts.get(a.id);
    if (prev && prev.a.version >= a.version) return;
    if (!isOpen(a.state)) {
      if (prev) {
        prev.marker.remove();
        alerts.delete(a.id);
        count(prev.a.gridCode, -1);
        renderSide();
      }
      return;
    }
    // Socket alerts carry WGS-84 locations; on GCJ-02 tiles only the server's shifted points are
    // drawn: a known alert keeps its marker, a new one makes the page ask the server again.
    if (a.lon === undefined && crs() !== 'wgs84') {
      if (!prev) {
        reloadAlerts ??= setTimeout(() => {
          reloadAlerts = null;
          void loadAlerts().catch((err) => ctx.report(err));
        }, 500);
        return;
      }
      a = { ...a, lon: prev.a.lon, lat: prev.a.lat };
    }
    const lon = a.lon ?? a.location?.lon;
    const lat = a.lat ?? a.location?.lat;
    const slim = {
      id: a.id,
      type: a.type,
      state: a.state,
      gridCode: a.gridCode,
      lon,
      lat,
      createdAt: a.createdAt,
      version: a.version,
      cameraName: a.cameraName,
    };
    if (prev) {
      if (prev.a.gridCode !== slim.gridCode) {
        count(prev.a.gridCode, -1);
        count(slim.gridCode, 1);
      }
      prev.a = slim;
      prev.marker.setLatLng([lat, lon]);
    } else {
      const marker = L.marker([lat, lon], {
        icon: alertIcon(slim),
        keyboard: true,
        title: `${typeLabel(a.type)} · ${a.cameraName}`,
        alt: a.id,
        riseOnHover: true,
      });
      marker.on('click', () => onOpen(a.id));
      // Leaflet makes the marker a tab stop but wires Enter only to popups: open it ourselves.
      marker.on('keydown', (e) => {
        const k = e.originalEvent.key;
        if (k === 'Enter' || k === ' ') {
          e.originalEvent.preventDefault();
          onOpen(a.id);
        }
      });
      marker.on('add', () => {
        const m = marker.getElement();
        if (m) {
          m.dataset.alert = a.id;
          m.setAttribute('translate', 'no');
        }
      });
      marker.addTo(alertLayer);
      alerts.set(a.id, { a: slim, marker });
      count(a.gridCode, 1);
    }
    el().dataset.alerts = String(alerts.size);
    renderSide();
  }

  function putCamera(c) {
    if (c.lon === undefined || c.lat === undefined) return;
    const prev = cameras.get(c.id);
    const color = CAMERA_COLORS[c.state] ?? '#f85149';
    if (prev) {
      prev.c = { ...prev.c, ...c };
      prev.marker.setStyle({ color, fillColor: color });
    } else {
      const marker = L.circleMarker([c.lat, c.lon], {
        renderer,
        radius: 5,
        color,
        fillColor: color,
        fillOpacity: 0.9,
        weight: 1,
      });
      marker.bindTooltip(() => h('span', {}, raw(c.name), ' · ', t(`cam_${cameras.get(c.id).c.state}`)));
      cameras.set(c.id, { c, marker });
      marker.addTo(cameraLayer);
    }
    el().dataset.cameras = String(cameras.size);
    renderSide();
  }

  function select(code) {
    const before = selected;
    selected = code;
    if (before) restyle(before);
    restyle(code);
    renderSide();
  }

  function alertButton(a) {
    return h(
      'li',
      {},
      h(
        'button',
        { type: 'button', class: 'link map-open', 'data-alert': a.id, onclick: () => onOpen(a.id) },
        typeLabel(a.type),
        ' · ',
        raw(a.cameraName),
        ' · ',
        h('span', { class: 'time' }, ctx.fmt.time(a.createdAt)),
      ),
    );
  }

  function renderSide() {
    const side = $('map-side');
    if (!side || store.ui.view !== 'map') return;
    const open = [...alerts.values()].map((x) => x.a).sort((x, y) => y.createdAt - x.createdAt);
    const parts = [
      h(
        'p',
        { class: 'map-legend' },
        h('span', { class: 'swatch', style: 'background:#d29922' }),
        t('map_legend_some'),
        h('span', { class: 'swatch', style: 'background:#f85149' }),
        t('map_legend_many'),
        h('span', { class: 'swatch round', style: 'background:#3fb950' }),
        t('map_legend_camera'),
      ),
    ];
    if (selected && grids.has(selected)) {
      const g = grids.get(selected).grid;
      const here = open.filter((a) => a.gridCode === selected);
      const cams = [...cameras.values()].map((x) => x.c).filter((c) => c.gridCode === selected);
      parts.push(
        h(
          'section',
          { class: 'map-grid', 'data-grid': g.code },
          h('h3', {}, raw(g.name), ' ', raw(g.code, 'small', { class: 'muted' })),
          h('h4', {}, t('map_grid_alerts', { n: here.length })),
          here.length
            ? h('ol', { class: 'map-list' }, ...here.map(alertButton))
            : h('p', { class: 'muted' }, t('empty')),
          h('h4', {}, t('map_grid_cameras', { n: cams.length })),
          cams.length
            ? h(
                'ul',
                { class: 'map-list' },
                ...cams.map((c) => h('li', {}, raw(c.name), ' · ', t(`cam_${c.state}`))),
              )
            : h('p', { class: 'muted' }, t('map_no_cameras')),
        ),
      );
    } else {
      parts.push(h('p', { class: 'muted' }, t('map_pick_grid')));
    }
    parts.push(
      h('h3', {}, t('map_open_alerts', { n: open.length })),
      // The server sends at most 2,000 markers (newest first): say so when there are more.
      totalOpen ? h('p', { class: 'muted' }, t('map_more_alerts', { n: totalOpen })) : '',
      open.length
        ? h('ol', { class: 'map-list' }, ...open.slice(0, 50).map(alertButton))
        : h('p', { class: 'muted' }, t('empty')),
    );
    side.replaceChildren(...parts);
  }

  async function loadAlerts() {
    const r = await ctx.api.get(`/map/alerts${q() && `?${q()}`}`);
    // Only when the server left some out; live changes after that are not counted here.
    totalOpen = r.total > r.items.length ? r.total : 0;
    for (const x of alerts.values()) x.marker.remove();
    alerts.clear();
    counts.clear();
    for (const a of r.items) putAlert(a);
    for (const g of grids.keys()) restyle(g);
  }

  async function loadCameras() {
    const list = await ctx.api.get(`/map/cameras${q() && `?${q()}`}`);
    for (const c of list) putCamera(c);
  }

  // Live: every alert the socket brings (store.upsert) moves its marker; closed ones go.
  store.subscribe((c) => {
    if (!map) return;
    if (c.type === 'alert') putAlert(c.alert);
    if (c.type === 'lang') renderSide();
  });

  async function show() {
    ensureMap();
    map.invalidateSize();
    renderSide();
    if (loading) return loading;
    loading = (async () => {
      try {
        if (loadedZoom === null) {
          // Start from the whole scope: shapes for a mid zoom, refetched once the map fits them.
          await requestGrids(9);
          await requestGrids(Math.round(map.getZoom()));
        }
        await Promise.all([loadAlerts(), loadCameras()]);
        el().dataset.ready = 'true';
      } catch (err) {
        ctx.report(err);
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  return {
    show,
    render: renderSide,
    updateCamera(c) {
      const prev = cameras.get(c.id);
      if (prev) putCamera({ ...prev.c, state: c.state });
    },
  };
}
