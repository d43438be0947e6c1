import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import { launchChromium, openWall, SCREENSHOT_DIR, type WallPage } from './helpers/browser.js';
import { PASSWORD, startHarness, type Harness } from './helpers/wall-harness.js';

// Never docs/img: `npm run screenshots` refreshes those from this folder.
const IMG_DIR = SCREENSHOT_DIR;

// The page side of evaluate() callbacks, typed structurally: the project compiles without the DOM lib.
interface Img {
  complete: boolean;
  naturalWidth: number;
  getBoundingClientRect(): { top: number };
}
interface Video {
  readyState: number;
  currentTime: number;
  videoWidth: number;
  src: string;
}
interface Doc {
  body: { dataset: Record<string, string | undefined> };
  images: ArrayLike<Img>;
  documentElement: { clientHeight: number };
}
let h: Harness;
let browser: Browser;
const pages: WallPage[] = [];
const open = async (user: string, viewport?: { width: number; height: number }): Promise<WallPage> => {
  const p = await openWall(browser, h.url, user, PASSWORD, viewport);
  pages.push(p);
  return p;
};
const card = (p: WallPage, id: string) => p.page.locator(`#cards .card[data-id="${id}"]`);

beforeAll(async () => {
  mkdirSync(IMG_DIR, { recursive: true });
  h = await startHarness({ logLevel: 'info' });
  browser = await launchChromium();
});
afterAll(async () => {
  for (const p of pages) await p.context.close();
  await browser?.close();
  await h?.close();
});

describe('the wall in chromium', () => {
  let alert: Alert;
  let zw: WallPage;
  let ln: WallPage;
  let wq: WallPage;

  it('shows a new alert with its evidence image, a beep and the title badge', async () => {
    zw = await open('zhangwei');
    ln = await open('lina');
    wq = await open('wangqiang');
    // lina watches every state, so she sees the alert after it leaves the open queue.
    await ln.page.locator('#f-state').selectOption('all');
    alert = await h.inject({ cameraId: 'cam-df-01' });
    const c = card(zw, alert.id);
    await c.waitFor();
    await expect
      .poll(() =>
        c.locator('img').evaluate((el) => {
          const img = el as unknown as Img;
          return img.complete && img.naturalWidth;
        }),
      )
      .toBe(768);
    expect(await c.locator('.type-badge').innerText()).toContain('违章停车');
    expect(await c.locator('.gridpath').innerText()).toMatch(
      /东城区\s*›\s*东风街道\s*›\s*东风社区\s*›\s*东风社区第一网格/,
    );
    expect(await c.locator('.camera').innerText()).toContain('东风路与解放路口');
    expect(await c.locator('.lasted').innerText()).toMatch(/持续 3分0\d秒/);
    expect(await c.locator('svg rect').count()).toBe(1);
    await expect.poll(() => zw.page.title()).toBe('(1) 网格巡检墙');
    await expect
      .poll(() =>
        zw.page.evaluate(() =>
          Number((globalThis as unknown as { document: Doc }).document.body.dataset.beeps ?? 0),
        ),
      )
      .toBeGreaterThanOrEqual(1);
    await card(ln, alert.id).waitFor();
  });

  it('the operator claims and confirms with the keyboard alone; a colleague sees each step', async () => {
    await zw.page.locator('body').press('ArrowLeft'); // newest first: the new card is selected
    await expect.poll(() => zw.page.locator('#cards .card.selected').getAttribute('data-id')).toBe(alert.id);
    await zw.page.keyboard.press('c');
    const other = card(ln, alert.id);
    await expect.poll(() => other.getAttribute('data-state')).toBe('claimed');
    expect(await other.locator('.claim').innerText()).toBe('张伟 处理中');
    await zw.page.keyboard.press('y');
    await expect.poll(() => other.getAttribute('data-state')).toBe('confirmed');
    expect(await other.locator('.state-badge').innerText()).toBe('已确认');
    // The confirmed card left 张伟's open queue.
    await expect.poll(() => card(zw, alert.id).count()).toBe(0);
    await expect.poll(() => zw.page.title()).toBe('网格巡检墙');
  });

  it('reject picks its reason with 1-4', async () => {
    // Camera-wide (no zone): the rejected object must not cover the same-box findings that the
    // busy-wall test injects later in zone z1 (a rejected object that stays is not raised again).
    const a = await h.inject({ cameraId: 'cam-df-02', type: 'street_vending', zoneId: null });
    await card(zw, a.id).waitFor();
    await expect.poll(() => zw.page.locator('#cards .card.selected').getAttribute('data-id')).toBe(a.id);
    await zw.page.keyboard.press('n');
    await zw.page.locator('#reasons').waitFor();
    await zw.page.keyboard.press('3');
    await expect.poll(() => card(ln, a.id).getAttribute('data-state')).toBe('rejected');
    const detail = await h.alerts.get(a.id, {
      username: 'admin',
      displayName: '管理员',
      role: 'admin',
      scope: '3301',
    });
    expect(detail.rejectReason).toBe('duplicate');
  });

  it('an operator of another county never sees them', async () => {
    const south = await h.inject({ cameraId: 'cam-bj-01', type: 'crowd_gathering' });
    await card(wq, south.id).waitFor();
    const ids = await wq.page
      .locator('#cards .card')
      .evaluateAll((els) => els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset.id));
    expect(ids).toEqual([south.id]);
    await wq.page.locator('#f-state').selectOption('all');
    expect(await wq.page.locator('#cards .card').count()).toBe(1);
    // Nor can it fetch the evidence by URL.
    const status = await wq.page.evaluate(
      async (id) => (await fetch(`/api/v1/alerts/${id}/evidence/latest`)).status,
      alert.id,
    );
    expect(status).toBe(404);
    expect(await card(zw, south.id).count()).toBe(0);
  });

  it('opening a card plays the camera live (real footage over RTSP, relayed as HTTP-FLV)', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01', type: 'road_obstruction' });
    await card(zw, a.id).waitFor();
    await expect.poll(() => zw.page.locator('#cards .card.selected').getAttribute('data-id')).toBe(a.id);
    await zw.page.keyboard.press('Enter');
    await zw.page.locator('#detail').waitFor();
    const video = zw.page.locator('#live-video');
    await expect
      .poll(
        () =>
          video.evaluate((el) => {
            const v = el as unknown as Video;
            return v.readyState >= 2 && v.currentTime > 0.5 ? v.videoWidth : 0;
          }),
        { timeout: 40_000, interval: 500 },
      )
      .toBe(768);
    const src = await video.evaluate((el) => (el as unknown as Video).src);
    expect(src.startsWith('blob:')).toBe(true);
    // No credentials anywhere the page can see.
    const html = await zw.page.content();
    expect(html).not.toMatch(/rtsp:\/\//);
    await zw.page.waitForTimeout(500);
    await zw.page.screenshot({ path: join(IMG_DIR, 'wall-detail.png') });
    await zw.page.keyboard.press('Escape');
    await expect.poll(() => zw.page.locator('#detail').isHidden()).toBe(true);
  });

  it('writes the busy-wall screenshot with 30 alerts', async () => {
    const big = await open('admin', { width: 1920, height: 1080 });
    const cams = ['cam-df-01', 'cam-df-02', 'cam-bs-01', 'cam-bj-01'];
    const types = ['illegal_parking', 'street_vending', 'crowd_gathering', 'road_obstruction', 'fire_smoke'];
    const now = Date.now();
    const made: Alert[] = [];
    for (let i = 0; i < 30; i++)
      made.push(await h.inject({ cameraId: cams[i % 4]!, type: types[i % 5]!, at: now - i * 47_000 }));
    await big.page.locator('#f-state').selectOption('all');
    await expect.poll(() => big.page.locator('#cards .card').count()).toBeGreaterThanOrEqual(30);
    // Two in progress, so the screenshot shows claims.
    const lina = await h.login('lina');
    for (const a of made.filter((x) => x.gridPath.some((g) => g.code === '330101')).slice(-2)) {
      await fetch(`${h.url}/api/v1/alerts/${a.id}/actions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${lina.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'claim', version: a.version }),
      });
    }
    await expect
      .poll(() => big.page.locator('#cards .card[data-state="claimed"] .claim').count())
      .toBeGreaterThanOrEqual(2);
    // Every evidence image on screen decoded before the picture is taken.
    await expect
      .poll(
        () =>
          big.page.evaluate(() => {
            const d = (globalThis as unknown as { document: Doc }).document;
            const onScreen = Array.from(d.images).filter(
              (i) => i.getBoundingClientRect().top < d.documentElement.clientHeight,
            );
            return onScreen.length > 0 && onScreen.every((i) => i.complete && i.naturalWidth > 0);
          }),
        { timeout: 20_000 },
      )
      .toBe(true);
    await big.page.evaluate(() =>
      Promise.all(
        Array.from(
          (globalThis as unknown as { document: { images: ArrayLike<{ decode(): Promise<void> }> } }).document
            .images,
        ).map((i) => i.decode().catch(() => 'offscreen or replaced')),
      ),
    );
    await big.page.screenshot({ path: join(IMG_DIR, 'wall-busy.png') });
    await big.page.keyboard.press('?');
    await big.page.locator('#help').waitFor();
    await big.page.screenshot({ path: join(IMG_DIR, 'wall-help.png') });
    await big.page.keyboard.press('Escape');
    await big.page.goto(`${h.url}/#cameras`);
    await big.page.locator('#camera-panel .county').first().waitFor();
    expect(
      await big.page.locator('#camera-panel [data-camera="cam-bs-01"]').getAttribute('data-state'),
    ).not.toBe('online');
    await big.page.screenshot({ path: join(IMG_DIR, 'wall-cameras.png') });
    await big.page.goto(`${h.url}/#admin`);
    await big.page.locator('[data-section="rejected"] pre').waitFor();
    expect(await big.page.locator('[data-section="rejected"] pre').innerText()).toContain('east.yaml:12');
    // Plugins as a table with translated status and types, not raw JSON.
    const plugins = big.page.locator('[data-section="plugins"] table[data-table="plugins"] tbody tr');
    expect(await plugins.count()).toBe(2);
    expect(await plugins.nth(0).locator('td').allInnerTexts()).toEqual([
      'parking',
      '1.0.0',
      '已启用',
      '违章停车',
      '—',
    ]);
    expect(await plugins.nth(1).locator('td').nth(4).innerText()).toBe('检测插件清单无效');
    expect(await big.page.locator('[data-section="plugins"]').innerText()).not.toMatch(/[{}]/);
    await big.page.screenshot({ path: join(IMG_DIR, 'wall-admin.png'), fullPage: true });
    expect(big.errors.filter((e) => !/401|404/.test(e))).toEqual([]);
  });

  it('the history view searches, from the keyboard, within the scope only', async () => {
    await zw.page.keyboard.press('/');
    await expect
      .poll(() =>
        zw.page.evaluate(
          () =>
            (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document
              .activeElement?.id,
        ),
      )
      .toBe('history-q');
    await zw.page.keyboard.type('菜市场');
    await zw.page.keyboard.press('Enter');
    // Opening the view lists everything first; the search's rows replace them when they arrive.
    await expect
      .poll(async () => [
        ...new Set(await zw.page.locator('#history-rows tr td:nth-child(4)').allInnerTexts()),
      ])
      .toEqual(['东风菜市场北门']);
    await zw.page.locator('#history-q').fill('滨江');
    await zw.page.keyboard.press('Enter');
    await expect.poll(() => zw.page.locator('#history-rows tr').count()).toBe(0);
    await zw.page.keyboard.press('Escape');
    await zw.page.evaluate(() => {
      (globalThis as unknown as { location: { hash: string } }).location.hash = '#wall';
    });
  });

  it('switches to English and back', async () => {
    await zw.page.locator('header .lang-switch').click();
    expect(await zw.page.locator('#nav a[data-view="wall"]').innerText()).toBe('Wall');
    await zw.page.locator('header .lang-switch').click();
    expect(await zw.page.locator('#nav a[data-view="wall"]').innerText()).toBe('告警墙');
    expect(zw.errors.filter((e) => !/401|404/.test(e))).toEqual([]);
  });
});
