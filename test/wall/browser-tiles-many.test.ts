import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { launchChromium, openWall, type WallPage } from './helpers/browser.js';
import { PASSWORD, startHarness, type Harness } from './helpers/wall-harness.js';

// Issue 13 item 8, more tiles than a browser has HTTP connections: nine live streams at once
// (over WebSocket: HTTP/1.1 allows six per origin), the rest of the page still answering; the
// WebSocket route refuses other origins, missing sessions and cameras outside the scope.

let h: Harness;
let browser: Browser;
let zw: WallPage;

beforeAll(async () => {
  h = await startHarness({ logLevel: 'warn', tileCameras: 8 });
  browser = await launchChromium();
  zw = await openWall(browser, h.url, 'zhangwei', PASSWORD);
});
afterAll(async () => {
  await zw?.context.close();
  await browser?.close();
  await h?.close();
});

/** Opens a WebSocket to the live route; resolves with the HTTP status of a refusal, or 101. */
function wsStatus(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}${path}`, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('error', reject);
  });
}

describe('split-screen wall with nine tiles', () => {
  it('plays nine cameras at once and the page keeps answering', async () => {
    const p = zw.page;
    await p.locator('#nav a[data-view="tiles"]').click();
    await p.locator('#tiles-grid-filter').selectOption('330101001');
    await p.keyboard.press('3');
    await expect.poll(() => p.locator('#tiles-grid .tile').count()).toBe(9);
    await expect
      .poll(() => p.locator('#tiles-grid .tile[data-tile="playing"]').count(), { timeout: 60_000 })
      .toBe(9);
    // With nine streams held open, an API call from the page still gets through.
    const status = await p.evaluate(async () => (await fetch('/api/v1/alerts?limit=1')).status);
    expect(status).toBe(200);
    expect(zw.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });

  it('refuses a stream opened from another origin, without a session, or outside the scope', async () => {
    const s = await h.login('zhangwei');
    const own = new URL(h.url).origin;
    const ticket = (await (
      await fetch(`${h.url}/api/v1/cameras/cam-tile-01/live`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token}` },
      })
    ).json()) as { wsFlvUrl: string };
    expect(await wsStatus(ticket.wsFlvUrl, { cookie: s.cookie, origin: own })).toBe(101);
    expect(await wsStatus(ticket.wsFlvUrl, { cookie: s.cookie, origin: 'https://evil.example' })).toBe(403);
    expect(await wsStatus(ticket.wsFlvUrl, { cookie: s.cookie })).toBe(403);
    expect(await wsStatus(ticket.wsFlvUrl, { origin: own })).toBe(401);
    // 江南区's camera, asked for by an operator of 东城区.
    expect(await wsStatus('/media/live/cam-bj-01.flv', { cookie: s.cookie, origin: own })).toBe(403);
    expect(await wsStatus('/media/live/..%2Fsecret.flv', { cookie: s.cookie, origin: own })).toBe(404);
  });
});
