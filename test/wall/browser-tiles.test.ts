import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openWall, SCREENSHOT_DIR, type WallPage } from './helpers/browser.js';
import { PASSWORD, startHarness, type Harness } from './helpers/wall-harness.js';

// Issue 13 item 8: the split-screen wall. 1/4/9/16 live cameras (real footage over RTSP,
// relayed as HTTP-FLV), only cameras in the operator's scope, driven by the keyboard, zh-CN
// with English as the switch; leaving it ends every stream.

let h: Harness;
let browser: Browser;
let zw: WallPage;

beforeAll(async () => {
  h = await startHarness({ logLevel: 'info' });
  browser = await launchChromium();
  zw = await openWall(browser, h.url, 'zhangwei', PASSWORD);
});
afterAll(async () => {
  await zw?.context.close();
  await browser?.close();
  await h?.close();
});

const tile = (p: Page, camera: string) => p.locator(`#tiles-grid .tile[data-camera="${camera}"]`);
const cameraIds = (p: Page) =>
  p.locator('#tiles-grid .tile').evaluateAll((els) => els.map((e) => e.getAttribute('data-camera')));
const focused = (p: Page) => p.locator('#tiles-grid .tile.focused').getAttribute('data-camera');
const layout = (p: Page) => p.locator('#tiles-grid').getAttribute('data-layout');

/** The viewer count of a camera's relay after its last join or leave, from the gateway log. */
function viewers(camera: string): number | null {
  let n: number | null = null;
  for (const l of h.logs.lines) {
    if (!l.includes('live viewer')) continue;
    const j = JSON.parse(l) as { camera?: string; viewers?: number };
    if (j.camera === camera && typeof j.viewers === 'number') n = j.viewers;
  }
  return n;
}

describe('split-screen wall', () => {
  it('plays the cameras in scope live in four tiles, the offline one says so', async () => {
    await zw.page.locator('#nav a[data-view="tiles"]').click();
    await expect.poll(() => layout(zw.page)).toBe('4');
    await expect.poll(() => cameraIds(zw.page)).toEqual(['cam-df-01', 'cam-df-02', 'cam-bs-01']);
    // Real video: each online tile reaches `playing` (the <video> fired its playing event).
    for (const c of ['cam-df-01', 'cam-df-02'])
      await expect
        .poll(() => tile(zw.page, c).getAttribute('data-tile'), { timeout: 20_000 })
        .toBe('playing');
    expect(await tile(zw.page, 'cam-bs-01').getAttribute('data-tile')).toBe('offline');
    expect(await tile(zw.page, 'cam-bs-01').locator('.tile-status').innerText()).toMatch(/[\u4e00-\u9fff]/);
    const width = await tile(zw.page, 'cam-df-01')
      .locator('video')
      .evaluate((v) => (v as unknown as { videoWidth: number }).videoWidth);
    expect(width).toBeGreaterThan(0);
    expect(viewers('cam-df-01')).toBe(1);
    expect(await zw.page.locator('#tiles-info').innerText()).toBe('4 画面 · 第 1/1 页 · 共 3 路');
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await zw.page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-tiles.png') });
  });

  it('number keys switch 1/4/9/16, arrows move the focus, Enter shows one camera alone and back', async () => {
    const p = zw.page;
    await p.keyboard.press('3');
    await expect.poll(() => layout(p)).toBe('9');
    await p.keyboard.press('4');
    await expect.poll(() => layout(p)).toBe('16');
    await p.keyboard.press('2');
    await expect.poll(() => layout(p)).toBe('4');
    expect(await focused(p)).toBe('cam-df-01');
    await p.keyboard.press('ArrowRight');
    expect(await focused(p)).toBe('cam-df-02');
    // Below df-02 (the 4th place) there is no tile: the focus stays.
    await p.keyboard.press('ArrowDown');
    expect(await focused(p)).toBe('cam-df-02');
    await p.keyboard.press('ArrowLeft');
    await p.keyboard.press('ArrowDown');
    expect(await focused(p)).toBe('cam-bs-01');
    await p.keyboard.press('ArrowUp');
    await p.keyboard.press('ArrowRight');
    await p.keyboard.press('Enter');
    await expect.poll(() => layout(p)).toBe('1');
    expect(await cameraIds(p)).toEqual(['cam-df-02']);
    // The tile kept on screen kept its stream (same player): still playing.
    expect(await tile(p, 'cam-df-02').getAttribute('data-tile')).toBe('playing');
    await p.keyboard.press('Enter');
    await expect.poll(() => layout(p)).toBe('4');
    expect(await focused(p)).toBe('cam-df-02');
    await p.keyboard.press('1');
    await expect.poll(() => cameraIds(p)).toEqual(['cam-df-01']);
    await p.keyboard.press('PageDown');
    await expect.poll(() => cameraIds(p)).toEqual(['cam-df-02']);
    expect(await p.locator('#tiles-info').innerText()).toBe('1 画面 · 第 2/3 页 · 共 3 路');
    await p.keyboard.press('2');
  });

  it('by alert: the cameras of open alerts, newest first; by grid: a grid subtree', async () => {
    const p = zw.page;
    await h.inject({ cameraId: 'cam-df-02', type: 'street_vending' });
    await p.keyboard.press('a');
    await expect.poll(() => cameraIds(p)).toEqual(['cam-df-02']);
    expect(await p.locator('#tiles-source').inputValue()).toBe('alert');
    await h.inject({ cameraId: 'cam-df-01' });
    await expect.poll(() => cameraIds(p)).toEqual(['cam-df-01', 'cam-df-02']);
    await p.keyboard.press('g');
    await p.locator('#tiles-grid-filter').selectOption('330101002');
    await expect.poll(() => cameraIds(p)).toEqual(['cam-bs-01']);
    await p.locator('#tiles-grid-filter').selectOption('');
    await expect.poll(() => cameraIds(p)).toEqual(['cam-df-01', 'cam-df-02', 'cam-bs-01']);
  });

  it('is translated both ways, with no key missing', async () => {
    const p = zw.page;
    const texts = () =>
      p.evaluate(() => {
        const d = (
          globalThis as unknown as {
            document: {
              querySelectorAll(
                s: string,
              ): ArrayLike<{ textContent: string | null; closest(s: string): unknown }>;
            };
          }
        ).document;
        return Array.from(d.querySelectorAll('#view-tiles *:not(:has(*)), #nav a'))
          .filter((el) => !el.closest('[translate="no"], kbd, option[translate="no"]'))
          .map((el) => el.textContent?.trim() ?? '')
          .filter(Boolean);
      });
    const zh = await texts();
    expect(zh.filter((s) => /[A-Za-z]{3,}/.test(s))).toEqual([]);
    await p.locator('header .lang-switch').click();
    await expect.poll(() => p.locator('#tiles-info').innerText()).toBe('4 tiles · page 1/1 · 3 cameras');
    const en = await texts();
    expect(en.filter((s) => /[\u3400-\u9fff]/.test(s))).toEqual([]);
    expect(await p.locator('html').getAttribute('data-i18n-missing')).toBeNull();
    await p.locator('header .lang-switch').click();
  });

  it('leaving the split wall ends every stream (the relays see their viewers leave)', async () => {
    await zw.page.locator('#nav a[data-view="wall"]').click();
    await expect.poll(() => zw.page.locator('#tiles-grid .tile').count()).toBe(0);
    await expect.poll(() => viewers('cam-df-01')).toBe(0);
    await expect.poll(() => viewers('cam-df-02')).toBe(0);
    expect(zw.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
