import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { i18nMissing, SCREENSHOT_DIR } from './helpers/browser.js';
import type { Harness } from './helpers/wall-harness.js';
import { startWallBrowser, type WallBrowser } from './helpers/wall-browser.js';

/** The 一张图 view in Debian's chromium against the real wall, dispatcher and ingest. */
let w: WallBrowser;
let h: Harness;

beforeAll(async () => {
  w = await startWallBrowser({ logLevel: 'warn' });
  h = w.h;
});
afterAll(() => w?.close());

describe('the grid map in chromium', () => {
  it('draws the scope grids, county labels, cameras and live alert markers; click and Enter open the alert', async () => {
    const first = await h.inject({ cameraId: 'cam-df-01' });
    const other = await h.inject({ cameraId: 'cam-bj-01', type: 'street_vending' });
    const zw = await w.open('zhangwei');
    const { page } = zw;
    await page.locator('#nav a[data-view="map"]').click();
    const canvas = page.locator('#map-canvas[data-ready="true"]');
    await canvas.waitFor();
    // 东城区 has three grids; 江南区's grid and alert are not on this operator's map.
    expect(await canvas.getAttribute('data-grids')).toBe('3');
    expect(await canvas.getAttribute('data-counties')).toBe('1');
    // Removed labels fade out for 200 ms; the one that stays is 东城区's.
    await page.locator('.leaflet-tooltip.county-label', { hasText: '东城区' }).last().waitFor();
    await page.locator(`.leaflet-marker-icon[data-alert="${first.id}"]`).waitFor();
    expect(await page.locator(`[data-alert="${other.id}"]`).count()).toBe(0);
    expect(await canvas.getAttribute('data-cameras')).toBe('3');
    await page.locator('.leaflet-control-scale').waitFor();

    // Zooming in two levels from the zoom the shapes were simplified for fetches them again.
    const shapesZoom = Number(await canvas.getAttribute('data-loaded-zoom'));
    expect(Number(await canvas.getAttribute('data-zoom'))).toBe(shapesZoom);
    for (let i = 1; i <= 2; i++) {
      await page.locator('.leaflet-control-zoom-in').click();
      await page.locator(`#map-canvas[data-zoom="${shapesZoom + i}"]`).waitFor();
    }
    await page.locator(`#map-canvas[data-loaded-zoom="${shapesZoom + 2}"]`).waitFor();
    expect(await canvas.getAttribute('data-grids')).toBe('3');
    for (let i = 1; i >= 0; i--) {
      await page.locator('.leaflet-control-zoom-out').click();
      await page.locator(`#map-canvas[data-zoom="${shapesZoom + i}"]`).waitFor();
    }
    await page.locator(`#map-canvas[data-loaded-zoom="${shapesZoom}"]`).waitFor();

    // Live: a new alert reaches the map over Socket.IO, no reload.
    const live = await h.inject({ cameraId: 'cam-df-02', type: 'street_vending' });
    await page.locator(`.leaflet-marker-icon[data-alert="${live.id}"]`).waitFor();
    await page.locator('#map-side', { hasText: '待处理告警 2 条' }).waitFor();

    // Click the grid next to the marker: the side panel lists that grid's alert and camera.
    const box = (await page.locator(`.leaflet-marker-icon[data-alert="${first.id}"]`).boundingBox())!;
    await page.mouse.click(box.x + box.width / 2 + 25, box.y + box.height / 2 - 25);
    const side = page.locator('#map-side .map-grid[data-grid="330101001001001"]');
    await side.waitFor();
    expect(await side.textContent()).toContain('东风社区第一网格');
    expect(await side.textContent()).toContain('东风路与解放路口');
    await side.locator(`button[data-alert="${first.id}"]`).waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-map.png') });

    // Keyboard: Tab reaches the marker, Enter opens the alert's detail.
    await page.locator(`.leaflet-marker-icon[data-alert="${first.id}"]`).focus();
    await page.keyboard.press('Enter');
    await page.locator('#detail:not([hidden])').waitFor();
    expect(await page.locator('#detail-title').textContent()).toContain('违章停车');
    await page.keyboard.press('Escape');
    await page.locator('#detail').waitFor({ state: 'hidden' });

    // A click on the marker opens it too.
    await page.locator(`.leaflet-marker-icon[data-alert="${live.id}"]`).click();
    await page.locator('#detail:not([hidden])').waitFor();
    expect(await page.locator('#detail-title').textContent()).toContain('占道经营');
    await page.keyboard.press('Escape');

    // Rejected elsewhere: the marker leaves the map live.
    const ln = await h.login('lina');
    const res = await fetch(`${h.url}/api/v1/alerts/${first.id}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ln.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'reject', reason: 'false_detection', version: first.version }),
    });
    expect(res.status).toBe(200);
    await page.locator(`.leaflet-marker-icon[data-alert="${first.id}"]`).waitFor({ state: 'detached' });

    // English mode: the map's strings come from the catalogue too.
    await page.locator('header .lang-switch').click();
    await page.locator('#map-side', { hasText: 'Open alerts: 1' }).waitFor();
    expect(await i18nMissing(page)).toBe('');
    // The page asks for its session once before logging in (401): the only expected failure.
    expect(zw.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
