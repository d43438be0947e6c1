/**
 * The grid worker's page (/m/) in chromium at a phone's viewport: the worker logs in with the
 * wall account the roster names, sees the task dispatched to them, and submits 处置反馈 with a
 * note and a real footage photo; the alert is then handled. A non-image photo is refused with
 * the catalogue's zh-CN text and changes nothing.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../core/contracts/alert-service.js';
import { i18nMissing, launchChromium, openWall, SCREENSHOT_DIR } from '../wall/helpers/browser.js';
import { PASSWORD, startHarness, type Harness } from '../wall/helpers/wall-harness.js';
import { disposalPhotos, ROSTER, WORKER_USERS } from './fixtures.js';

const ADMIN: Actor = { username: 'admin', displayName: '管理员', role: 'admin', scope: '3301' };
let h: Harness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness({ workers: ROSTER, extraUsers: WORKER_USERS });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('worker page (/m/)', () => {
  it('logs in, shows the dispatched task and submits the disposal with a photo', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01' });
    const op = { username: 'zhangwei', displayName: '张伟', role: 'operator', scope: '330101' } as const;
    await h.alerts.act(a.id, { action: 'confirm' }, op);
    const { token } = await h.login('zhangwei');
    const d = await fetch(`${h.url}/api/v1/workers/dispatch/${encodeURIComponent(a.id)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workerId: 'w001' }),
    });
    expect(d.status).toBe(201);

    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await page.goto(`${h.url}/m/`);
      await page.locator('#login-username').fill('wangfang');
      await page.locator('#login-password').fill(PASSWORD);
      await page.locator('#login button[type=submit]').click();
      const card = page.locator(`li.task[data-id="${a.id}"]`);
      await card.waitFor();
      expect(await page.locator('#who').textContent()).toBe('王芳 · 网格长');
      expect(await card.locator('.state').textContent()).toBe('已派遣');
      expect(await card.locator('.meta').textContent()).toContain('派遣给我');
      // The page fits the phone's width: no horizontal scrolling.
      const overflow = await page.evaluate(() => {
        const w = globalThis as unknown as {
          innerWidth: number;
          document: { documentElement: { scrollWidth: number } };
        };
        return w.document.documentElement.scrollWidth - w.innerWidth;
      });
      expect(overflow).toBeLessThanOrEqual(0);

      // A file that is not an image: refused with the catalogue's text, nothing changes.
      const form = card.locator('form.dispose');
      await form.locator('textarea[name=note]').fill('车辆已驶离');
      await form.locator('input[name=photo]').setInputFiles({
        name: 'note.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.from('this is not a photo'),
      });
      await form.locator('button[type=submit]').click();
      await expect.poll(() => form.locator('.error').textContent()).toMatch(/^提交失败：/);
      expect((await h.alerts.get(a.id, ADMIN)).state).toBe('dispatched');

      const { vanGone } = await disposalPhotos();
      await form
        .locator('input[name=photo]')
        .setInputFiles({ name: 'after.jpg', mimeType: 'image/jpeg', buffer: vanGone });
      await form.locator('button[type=submit]').click();
      await expect.poll(() => card.locator('.state').textContent()).toBe('待核查');
      expect(await card.locator('.disposal').textContent()).toContain('车辆已驶离');
      expect(await card.locator('form.dispose').isHidden()).toBe(true);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'worker-page.png'), fullPage: true });
      const after = await h.alerts.get(a.id, ADMIN);
      expect(after.state).toBe('handled');
      expect(after.disposal).toMatchObject({ workerId: 'w001', note: '车辆已驶离' });
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('the wall’s detail names the responsible workers and dispatches to one of them', async () => {
    const zw = await openWall(browser, h.url, 'zhangwei', PASSWORD);
    const a = await h.inject({ cameraId: 'cam-df-01' });
    try {
      await zw.page.locator(`#cards .card[data-id="${a.id}"]`).click();
      await expect.poll(() => zw.page.locator('#detail').getAttribute('data-id')).toBe(a.id);
      const team = zw.page.locator('#detail-facts ul.team');
      await team.waitFor();
      // Before the confirm: named, but nothing to dispatch yet.
      expect(await team.locator('button').count()).toBe(0);
      await zw.page.keyboard.press('y');
      await expect.poll(async () => (await h.alerts.get(a.id, ADMIN)).state).toBe('confirmed');
      const confirmed = await h.alerts.get(a.id, ADMIN);
      await team.locator('button[data-dispatch="w001"]').waitFor();
      expect(await team.locator('li[data-worker]').allInnerTexts()).toEqual([
        expect.stringMatching(/^王芳（网格长）\s*派遣$/),
        expect.stringMatching(/^李明（专职网格员）\s*派遣$/),
      ]);
      // No phone to an operator.
      expect(await team.innerText()).not.toContain('138');
      await team.locator('button[data-dispatch="w001"]').click();
      await expect.poll(async () => (await h.alerts.get(a.id, ADMIN)).state).toBe('dispatched');
      expect((await h.alerts.get(a.id, ADMIN)).assignment).toMatchObject({
        workerId: 'w001',
        by: 'zhangwei',
      });
      await expect.poll(() => zw.page.locator('#detail-facts').innerText()).toMatch(/派遣\s+王芳/);
      // Dispatched: no more 派遣 buttons.
      await expect.poll(() => team.locator('button').count()).toBe(0);
      await zw.page.locator('#detail-audit li[data-action="worker_dispatch"]').waitFor();
      expect(await zw.page.locator('#detail-audit li[data-action="worker_dispatch"]').innerText()).toContain(
        '派遣网格员',
      );
      await zw.page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-detail-workers.png') });
      expect(confirmed.version).toBeLessThan((await h.alerts.get(a.id, ADMIN)).version);
      expect(zw.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    } finally {
      await zw.context.close();
    }
  });

  it('the 考核 view has a row per grid worker with tasks, disposals and dispose times', async () => {
    const zw = await openWall(browser, h.url, 'zhangwei', PASSWORD);
    try {
      await zw.page.locator('#nav [data-view="stats"]').click();
      const row = zw.page.locator('#stats-workers-table tr[data-worker="w001"]');
      await row.waitFor();
      // From the two tests above: one disposal through the page, one task still dispatched.
      const cells = await row.locator('td').allInnerTexts();
      expect(cells.slice(0, 5)).toEqual(['王芳 (w001)', '网格长', '2', '1', '1']);
      expect(cells[5]).toMatch(/^\d+\.\d$/);
      expect(await zw.page.locator('#stats-workers-table tr[data-worker="w002"] td').nth(2).innerText()).toBe(
        '0',
      );
      await zw.page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-stats-workers.png'), fullPage: true });
      // English: headings and role names switch too (the role from the server's roleEn), no key missing.
      await zw.page.locator('header .lang-switch').click();
      await expect.poll(() => zw.page.locator('#stats-workers h3').innerText()).toBe('Grid workers');
      await expect.poll(() => row.locator('td').nth(1).innerText()).toBe('Grid leader');
      // Only names are Chinese in English mode: the headings and every role cell are not.
      const heads = await zw.page.locator('#stats-workers-table th').allInnerTexts();
      const roles = await zw.page.locator('#stats-workers-table tbody tr td:nth-child(2)').allInnerTexts();
      expect([...heads, ...roles].filter((x) => /[\u3400-\u9fff]/.test(x))).toEqual([]);
      expect(await i18nMissing(zw.page)).toBe('');
      await zw.page.locator('header .lang-switch').click();
      expect(zw.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    } finally {
      await zw.context.close();
    }
  });

  it('tells a wall user who is not in the roster that they have no task list', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
    const page = await context.newPage();
    try {
      await page.goto(`${h.url}/m/`);
      await page.locator('#login-username').fill('zhangwei');
      await page.locator('#login-password').fill(PASSWORD);
      await page.locator('#login button[type=submit]').click();
      await expect.poll(() => page.locator('#login-error').textContent()).toBe('该账号不是花名册中的网格员');
      expect(await page.locator('#tasks').isHidden()).toBe(true);
    } finally {
      await context.close();
    }
  });
});
