import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import gcoordModule from 'gcoord';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toWgs84 } from '../../core/geo/crs.js';
import { launchChromium, openWall, type WallPage } from './helpers/browser.js';
import { PASSWORD, startHarness, type Harness } from './helpers/wall-harness.js';

/**
 * wall.map.tiles: a real tile server (node:http, one PNG for every /z/x/y.png) under the 一张图
 * map in chromium, the page's CSP opened for its origin only, and the map API's crs=gcj02 shift.
 */
type Gcoord = typeof gcoordModule.default;
const gcoord: Gcoord =
  (gcoordModule as unknown as { default?: Gcoord }).default ?? (gcoordModule as unknown as Gcoord);

// A 1×1 grey PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

let tileServer: Server;
let tileOrigin: string;
const tileHits: string[] = [];
let browser: Browser;
const pages: WallPage[] = [];

beforeAll(async () => {
  tileServer = createServer((req, res) => {
    tileHits.push(req.url ?? '');
    if (/^\/\d+\/\d+\/\d+\.png$/.test(req.url ?? '')) {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length }).end(PNG);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => tileServer.listen(0, '127.0.0.1', r));
  tileOrigin = `http://127.0.0.1:${(tileServer.address() as AddressInfo).port}`;
  browser = await launchChromium();
});
afterAll(async () => {
  for (const p of pages) await p.context.close();
  await browser?.close();
  await new Promise((r) => tileServer?.close(r));
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked field by field below
async function get(h: Harness, path: string, token: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${h.url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, json: await res.json() };
}

async function cspImgSrc(h: Harness): Promise<string> {
  const csp = (await fetch(`${h.url}/`)).headers.get('content-security-policy') ?? '';
  return csp.split(';').find((d) => d.trim().startsWith('img-src')) ?? '';
}

describe('map tiles configured (GCJ-02 mirror)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      logLevel: 'warn',
      wall: {
        map: { tiles: { url: `${tileOrigin}/{z}/{x}/{y}.png`, crs: 'gcj02', attribution: '测试瓦片' } },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('serves the tiles in /meta and opens img-src for their origin', async () => {
    const meta = (await (await fetch(`${h.url}/api/v1/meta`)).json()) as { mapTiles: unknown };
    expect(meta.mapTiles).toMatchObject({ url: `${tileOrigin}/{z}/{x}/{y}.png`, crs: 'gcj02', maxZoom: 18 });
    expect(await cspImgSrc(h)).toContain(tileOrigin);
  });

  it('shifts cameras, alerts and grid rings WGS-84 → GCJ-02 with crs=gcj02, as gcoord and core do', async () => {
    const alert = await h.inject({ cameraId: 'cam-df-01' });
    const { token } = await h.login('zhangwei');
    const camsW = await get(h, '/map/cameras', token);
    const camsG = await get(h, '/map/cameras?crs=gcj02', token);
    const w = camsW.json.find((c: { id: string }) => c.id === 'cam-df-01');
    const g = camsG.json.find((c: { id: string }) => c.id === 'cam-df-01');
    expect(w).toMatchObject({ lon: 120.02, lat: 30.02 });
    const [ex, ey] = gcoord.transform([120.02, 30.02], gcoord.WGS84, gcoord.GCJ02);
    expect(g.lon).toBeCloseTo(ex, 9);
    expect(g.lat).toBeCloseTo(ey, 9);
    // Hangzhou's GCJ-02 offset is some 500 m (≈ +0.0046° lon, −0.0024° lat), and core's
    // GCJ-02 → WGS-84 (the camera importer's) takes it back to the surveyed point.
    expect(g.lon - 120.02).toBeGreaterThan(0.003);
    expect(g.lat - 30.02).toBeLessThan(-0.001);
    const back = toWgs84(g.lon, g.lat, 'GCJ02');
    expect(back.lon).toBeCloseTo(120.02, 5);
    expect(back.lat).toBeCloseTo(30.02, 5);

    const alW = (await get(h, '/map/alerts', token)).json.items.find(
      (a: { id: string }) => a.id === alert.id,
    );
    const alG = (await get(h, '/map/alerts?crs=gcj02', token)).json.items.find(
      (a: { id: string }) => a.id === alert.id,
    );
    const [ax, ay] = gcoord.transform([alW.lon, alW.lat], gcoord.WGS84, gcoord.GCJ02);
    expect(alG.lon).toBeCloseTo(ax, 9);
    expect(alG.lat).toBeCloseTo(ay, 9);

    const gridsW = (await get(h, '/map/grids?zoom=14', token)).json.grids;
    const gridsG = (await get(h, '/map/grids?zoom=14&crs=gcj02', token)).json.grids;
    const ringW: number[] = gridsW[0].rings[0][0];
    const ringG: number[] = gridsG[0].rings[0][0];
    expect(ringG.length).toBe(ringW.length);
    const [rx, ry] = gcoord.transform([ringW[0]!, ringW[1]!], gcoord.WGS84, gcoord.GCJ02);
    expect(ringG[0]).toBeCloseTo(rx, 9);
    expect(ringG[1]).toBeCloseTo(ry, 9);
    // The WGS-84 shapes the server caches are not shifted in place by a GCJ-02 reply.
    expect((await get(h, '/map/grids?zoom=14', token)).json.grids[0].rings[0][0]).toEqual(ringW);
  });

  it.each(['/map/grids?zoom=12&crs=bd09', '/map/alerts?crs=', '/map/cameras?crs=GCJ02'])(
    'refuses a bad crs with 400 naming the field: %s',
    async (path) => {
      const { token } = await h.login('zhangwei');
      const r = await get(h, path, token);
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json)).toMatch(/crs/);
    },
  );

  it('draws the tiles under the grids in chromium, and live alerts at their GCJ-02 point', async () => {
    tileHits.length = 0;
    const zw = await openWall(browser, h.url, 'zhangwei', PASSWORD);
    pages.push(zw);
    const { page } = zw;
    await page.locator('#nav a[data-view="map"]').click();
    await page.locator('#map-canvas[data-ready="true"]').waitFor();
    await page.locator('.leaflet-tile-pane img.leaflet-tile-loaded').first().waitFor();
    expect(tileHits.length).toBeGreaterThan(0);
    expect(tileHits.every((u) => /^\/\d+\/\d+\/\d+\.png$/.test(u))).toBe(true);
    // Tiles are in the tile pane, below the overlay pane the grid canvas draws in.
    expect(await page.locator('.leaflet-overlay-pane canvas').count()).toBe(1);
    await page.locator('.leaflet-control-attribution', { hasText: '测试瓦片' }).waitFor();
    // A live alert (socket, WGS-84) is placed from the server's GCJ-02 marker list.
    const live = await h.inject({ cameraId: 'cam-df-02', type: 'street_vending' });
    await page.locator(`.leaflet-marker-icon[data-alert="${live.id}"]`).waitFor();
    expect(zw.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});

describe('map tiles not configured', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ logLevel: 'warn' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('requests no tile, adds no tile layer and keeps img-src to the page itself', async () => {
    const meta = (await (await fetch(`${h.url}/api/v1/meta`)).json()) as { mapTiles: unknown };
    expect(meta.mapTiles).toBeNull();
    expect(await cspImgSrc(h)).not.toContain('127.0.0.1');
    tileHits.length = 0;
    const zw = await openWall(browser, h.url, 'zhangwei', PASSWORD);
    pages.push(zw);
    const { page } = zw;
    await page.locator('#nav a[data-view="map"]').click();
    await page.locator('#map-canvas[data-ready="true"]').waitFor();
    expect(await page.locator('.leaflet-tile-pane img').count()).toBe(0);
    expect(tileHits).toEqual([]);
  });
});
