import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor } from '../../core/contracts/alert-service.js';
import { ERROR_CATALOGUE } from '../../core/errors.js';
import { launchChromium, openWall, type WallPage } from './helpers/browser.js';
import { PASSWORD, startHarness, type Harness } from './helpers/wall-harness.js';

// Issue 13 item 2: every page in both languages, with no untranslated key and no text of the
// other language outside data (names from config, ids: marked translate="no").

const ZW: Actor = { username: 'zhangwei', displayName: '张伟', role: 'operator', scope: '330101' };

interface Walked {
  texts: string[];
  missing: string;
}
/** Visible text of the page outside data elements, with the keys the page found untranslated. */
async function walk(page: Page): Promise<Walked> {
  return page.evaluate(() => {
    // Typed structurally: the project compiles without the DOM lib.
    interface El {
      closest(s: string): El | null;
      checkVisibility(): boolean;
      getAttribute(n: string): string | null;
    }
    interface TextNode {
      textContent: string | null;
      parentElement: El | null;
    }
    const g = globalThis as unknown as {
      document: {
        body: unknown;
        documentElement: { dataset: Record<string, string | undefined> };
        createTreeWalker(root: unknown, what: number): { nextNode(): TextNode | null };
        querySelectorAll(s: string): ArrayLike<El>;
      };
    };
    const d = g.document;
    const skip = (el: El) => el.closest('[translate="no"], kbd, script, style, [hidden], option');
    const texts: string[] = [];
    const tw = d.createTreeWalker(d.body, 4 /* NodeFilter.SHOW_TEXT */);
    for (let n = tw.nextNode(); n; n = tw.nextNode()) {
      const el = n.parentElement;
      const s = n.textContent?.trim();
      if (!el || !s || skip(el) || !el.checkVisibility()) continue;
      texts.push(s);
    }
    // Options of the visible selects (grids are data and marked so), and placeholders.
    for (const el of Array.from(d.querySelectorAll('select option:not([translate="no"])'))) {
      if (!el.closest('[hidden]')) texts.push((el as unknown as TextNode).textContent ?? '');
    }
    for (const el of Array.from(d.querySelectorAll('[placeholder]'))) {
      if (el.checkVisibility()) texts.push(el.getAttribute('placeholder') ?? '');
    }
    return { texts, missing: d.documentElement.dataset.i18nMissing ?? '' };
  });
}

const FOREIGN = {
  // In Chinese, no Latin word of three letters or more (codes, English messages, keys).
  zh: /[A-Za-z]{3,}/,
  // In English, no Chinese character.
  en: /[\u3400-\u9fff\uf900-\ufaff]/,
};

async function expectTranslated(page: Page, lang: 'zh' | 'en', where: string): Promise<Walked> {
  const w = await walk(page);
  expect(w.missing, `${where} (${lang}): keys without a text`).toBe('');
  expect(
    // Key-cap names (Esc, Enter, Ctrl) read the same in both languages.
    w.texts.filter((s) => FOREIGN[lang].test(s.replace(/\b(Esc|Enter|Ctrl)\b/g, ''))),
    `${where} (${lang}): text in the other language`,
  ).toEqual([]);
  return w;
}

let h: Harness;
let browser: Browser;
const pages: WallPage[] = [];
let decided: Alert;
let fresh: Alert;

beforeAll(async () => {
  h = await startHarness({ logLevel: 'warn' });
  browser = await launchChromium();
  // One alert with a full trail (create, claim, note, escalate, reject), one waiting.
  decided = await h.inject({ cameraId: 'cam-df-01' });
  await h.alerts.act(decided.id, { action: 'claim' }, ZW);
  await h.alerts.act(decided.id, { action: 'note', note: '已电话联系车主' }, ZW);
  await h.alerts.act(decided.id, { action: 'escalate', note: '需街道协调' }, ZW);
  await h.alerts.act(decided.id, { action: 'reject', reason: 'not_violation', note: '临时停靠' }, ZW);
  fresh = await h.inject({ cameraId: 'cam-df-02', type: 'street_vending' });
  // The camera without a stream has its failure reason before the walk.
  for (let i = 0; i < 200 && !h.cameras.get('cam-bs-01')?.reason; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect(h.cameras.get('cam-bs-01')?.reason).toMatch(/^GW_CAMERA_[A-Z_]+: /);
});
afterAll(async () => {
  for (const p of pages) await p.context.close();
  await browser?.close();
  await h?.close();
});

describe('every page in Chinese and in English', () => {
  it('the login page and a failed login', async () => {
    const context = await browser.newContext({ locale: 'zh-CN' });
    pages.push({ context, page: await context.newPage(), errors: [] });
    const page = pages.at(-1)!.page;
    await page.goto(h.url);
    await page.locator('#login-view').waitFor();
    for (const lang of ['zh', 'en'] as const) {
      if (lang === 'en') await page.locator('#login-form .lang-switch').click();
      await page.locator('#login-username').fill('zhangwei');
      await page.locator('#login-password').fill('wrong-password');
      await page.locator('#login-form button[type=submit]').click();
      const err = page.locator('#login-error');
      await expect.poll(() => err.innerText()).not.toBe('');
      expect(await err.innerText()).toBe(
        lang === 'zh' ? '登录失败：用户名或密码错误' : 'Login failed: Wrong username or password',
      );
      await expectTranslated(page, lang, 'login');
      await err.evaluate((el) => ((el as unknown as { textContent: string }).textContent = ''));
    }
  });

  it('wall, detail, reasons, help, history, cameras and admin', async () => {
    const admin = await openWall(browser, h.url, 'admin', PASSWORD, { width: 1600, height: 1000 });
    pages.push(admin);
    const page = admin.page;
    await page.locator('#f-state').selectOption('all');
    await page.locator(`#cards .card[data-id="${decided.id}"]`).waitFor();
    for (const lang of ['zh', 'en'] as const) {
      if (lang === 'en') await page.locator('header .lang-switch').click();
      await page.evaluate(() => {
        (globalThis as unknown as { location: { hash: string } }).location.hash = '#wall';
      });
      await page.locator('#view-wall').waitFor();
      expect(await page.locator('#conn').innerText()).toBe(lang === 'zh' ? '已连接' : 'Connected');
      await expectTranslated(page, lang, 'wall');

      // The decided alert: its trail in words, not codes.
      await page.locator(`#cards .card[data-id="${decided.id}"]`).click();
      await expect.poll(() => page.locator('#detail-audit li').count()).toBe(5);
      const trail = await page.locator('#detail-audit li').allInnerTexts();
      if (lang === 'zh') {
        expect(trail[0]).toMatch(/ · 系统 · 生成告警 → 新告警 · 由 wall-test 检测，落入 东风社区第一网格$/);
        expect(trail[1]).toMatch(/ · zhangwei · 认领 新告警 → 处理中$/);
        expect(trail[2]).toMatch(/ · zhangwei · 备注 · 已电话联系车主$/);
        expect(trail[3]).toMatch(/ · zhangwei · 上报 处理中 → 已上报 · 上报至 \S+ · 需街道协调$/);
        expect(trail[4]).toMatch(/ · zhangwei · 驳回 已上报 → 已驳回 · 不构成违规 · 临时停靠$/);
      } else {
        expect(trail[0]).toMatch(/ · System · Raised → New · Detected by wall-test in 东风社区第一网格$/);
        expect(trail[4]).toMatch(/ · zhangwei · Rejected Escalated → Rejected · Not a violation · 临时停靠$/);
      }
      await expectTranslated(page, lang, 'detail of a decided alert');
      await page.keyboard.press('Escape');

      // A waiting alert: its actions, the note field, the reasons overlay.
      await page.locator(`#cards .card[data-id="${fresh.id}"]`).click();
      await page.locator('#detail-actions [data-action="confirm"]').waitFor();
      await expectTranslated(page, lang, 'detail of a new alert');
      await page.keyboard.press('n');
      await page.locator('#reasons').waitFor();
      await expectTranslated(page, lang, 'reasons');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      await page.keyboard.press('?');
      await page.locator('#help').waitFor();
      await expectTranslated(page, lang, 'help');
      await page.keyboard.press('Escape');

      for (const [view, ready] of [
        ['history', '#history-rows tr'],
        ['cameras', '#camera-panel [data-camera="cam-bs-01"] .reason'],
        ['admin', '[data-section="plugins"] table'],
        ['map', '#map-canvas[data-ready="true"]'],
        ['stats', '#stats-table'],
      ] as const) {
        await page.evaluate((v) => {
          (globalThis as unknown as { location: { hash: string } }).location.hash = `#${v}`;
        }, view);
        await page.locator(ready).first().waitFor();
        await expectTranslated(page, lang, view);
      }
      const reason = page.locator('#camera-panel [data-camera="cam-bs-01"] .reason');
      // Ingest reports catalogue codes; the page shows the catalogue's text for the language.
      const code = await reason.getAttribute('data-code');
      expect(code).toMatch(/^GW_CAMERA_[A-Z_]+$/);
      const texts = ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE];
      expect(await reason.textContent()).toBe(lang === 'zh' ? texts.zh : texts.en);
    }
    expect(admin.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
