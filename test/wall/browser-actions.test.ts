import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor } from '../../core/contracts/alert-service.js';
import { launchChromium, openWall, SCREENSHOT_DIR, type WallPage } from './helpers/browser.js';
import { PASSWORD, startHarness, type Harness } from './helpers/wall-harness.js';

// Issue 13 items 1, 4 and 5: actions bound to the alert on screen, notes, one time zone.

const ADMIN: Actor = { username: 'admin', displayName: '管理员', role: 'admin', scope: '3301' };
interface CardsEl {
  querySelector(s: string): unknown;
}
interface MutationWindow {
  MutationObserver: new (
    cb: (records: Array<{ addedNodes: ArrayLike<unknown>; removedNodes: ArrayLike<unknown> }>) => void,
  ) => {
    observe(el: unknown, o: { childList: boolean }): void;
  };
  document: { getElementById(id: string): CardsEl };
  __cardMutations?: number;
}

let h: Harness;
let browser: Browser;
const pages: WallPage[] = [];
const open = async (user: string, timezoneId?: string): Promise<WallPage> => {
  const p = await openWall(browser, h.url, user, PASSWORD, undefined, timezoneId);
  pages.push(p);
  return p;
};
const card = (p: WallPage, id: string) => p.page.locator(`#cards .card[data-id="${id}"]`);
const state = async (id: string) => (await h.alerts.get(id, ADMIN)).state;

beforeAll(async () => {
  h = await startHarness({ logLevel: 'warn' });
  browser = await launchChromium();
});
afterAll(async () => {
  for (const p of pages) await p.context.close();
  await browser?.close();
  await h?.close();
});

describe('actions act on the alert on screen', () => {
  let zw: WallPage;
  let a: Alert;
  let b: Alert;

  it('after Y in the detail, the detail shows the confirmed alert and E does not escalate the next one', async () => {
    zw = await open('zhangwei');
    a = await h.inject({ cameraId: 'cam-df-01' });
    b = await h.inject({ cameraId: 'cam-df-02', type: 'street_vending' });
    await card(zw, a.id).waitFor();
    await card(zw, b.id).waitFor();
    // Open A (the older card); B, the newest, is the one the queue moves to once A is decided.
    await card(zw, a.id).click();
    await expect.poll(() => zw.page.locator('#detail').getAttribute('data-id')).toBe(a.id);
    await zw.page.keyboard.press('y');
    await expect.poll(() => state(a.id)).toBe('confirmed');
    await expect.poll(() => zw.page.locator('#detail-title .state-badge').innerText()).toBe('已确认');
    const toast = zw.page.locator('#toast');
    await expect.poll(() => toast.innerText()).toMatch(/^确认 ✓/);
    // E next: the old page escalated the card the selection had moved on to (B).
    await zw.page.keyboard.press('e');
    await expect.poll(() => toast.innerText()).not.toMatch(/^确认 ✓/);
    expect(await toast.innerText()).toBe('不能上报：该告警已确认');
    expect(await state(b.id)).toBe('new');
    expect((await h.alerts.audit(b.id, ADMIN)).map((e) => e.action)).toEqual(['create']);
    // The panel still shows A: its new state, the confirm in its trail, and no more decisions.
    await zw.page.locator('#detail-audit li[data-action="confirm"]').waitFor();
    expect(await zw.page.locator('#detail-actions [data-action="escalate"]').count()).toBe(0);
    expect(await zw.page.locator('#detail-actions [data-action="confirm"]').count()).toBe(0);
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await zw.page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-detail-decided.png') });
    expect(await zw.page.locator('#detail').getAttribute('data-id')).toBe(a.id);
    expect(await state(b.id)).toBe('new');
    expect((await h.alerts.audit(b.id, ADMIN)).map((e) => e.action)).toEqual(['create']);
    expect(await state(a.id)).toBe('confirmed');
    // Esc goes back to the wall, where B is now the highlighted card.
    await zw.page.keyboard.press('Escape');
    await expect.poll(() => zw.page.locator('#detail').isHidden()).toBe(true);
    await expect.poll(() => zw.page.locator('#cards .card.selected').getAttribute('data-id')).toBe(b.id);
  });

  it('an update re-renders only the card that changed', async () => {
    const c = await h.inject({ cameraId: 'cam-df-01', type: 'road_obstruction' });
    await card(zw, c.id).waitFor();
    await zw.page.evaluate(() => {
      const w = globalThis as unknown as MutationWindow;
      w.__cardMutations = 0;
      new w.MutationObserver((records) => {
        for (const r of records) w.__cardMutations! += r.addedNodes.length + r.removedNodes.length;
      }).observe(w.document.getElementById('cards'), { childList: true });
    });
    const lina = await h.login('lina');
    const res = await fetch(`${h.url}/api/v1/alerts/${c.id}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${lina.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'claim', version: c.version }),
    });
    expect(res.status).toBe(200);
    await expect.poll(() => card(zw, c.id).getAttribute('data-state')).toBe('claimed');
    // One card out, its new version in: the other cards were not touched.
    const n = await zw.page.evaluate(() => (globalThis as unknown as MutationWindow).__cardMutations);
    expect(n).toBe(2);
    expect(await zw.page.locator('#cards .card').count()).toBe(2);
  });

  it('notes typed in the detail go with escalate, reject and confirm', async () => {
    const d = await h.inject({ cameraId: 'cam-df-02', type: 'crowd_gathering' });
    await card(zw, d.id).waitFor();
    await card(zw, d.id).click();
    await expect.poll(() => zw.page.locator('#detail').getAttribute('data-id')).toBe(d.id);
    // M focuses the note; Esc leaves the field (the detail stays open); E escalates with it.
    await zw.page.keyboard.press('m');
    await zw.page.keyboard.type('已通知社区网格员');
    await zw.page.keyboard.press('Escape');
    expect(await zw.page.locator('#detail').isVisible()).toBe(true);
    await zw.page.keyboard.press('e');
    await expect.poll(() => state(d.id)).toBe('escalated');
    const esc = (await h.alerts.audit(d.id, ADMIN)).find((e) => e.action === 'escalate');
    expect(esc?.note).toMatch(/^已通知社区网格员; to /);
    // The trail shows it in Chinese: where it went, then the note.
    const li = zw.page.locator('#detail-audit li[data-action="escalate"]');
    await expect.poll(() => li.innerText()).toMatch(/上报 新告警 → 已上报 · 上报至 \S+ · 已通知社区网格员$/);
    expect(await zw.page.locator('#detail-note').inputValue()).toBe('');

    await zw.page.keyboard.press('m');
    await zw.page.keyboard.type('同一车辆');
    await zw.page.keyboard.press('Escape');
    await zw.page.keyboard.press('n');
    await zw.page.locator('#reasons').waitFor();
    await zw.page.keyboard.press('3');
    await expect.poll(() => state(d.id)).toBe('rejected');
    const rej = (await h.alerts.audit(d.id, ADMIN)).find((e) => e.action === 'reject');
    expect(rej?.note).toBe('duplicate: 同一车辆');
    await expect
      .poll(() => zw.page.locator('#detail-audit li[data-action="reject"]').innerText())
      .toMatch(/驳回 已上报 → 已驳回 · 重复 · 同一车辆$/);

    await zw.page.keyboard.press('Escape');
    const e = await h.inject({ cameraId: 'cam-df-01', type: 'fire_smoke' });
    await card(zw, e.id).waitFor();
    await card(zw, e.id).click();
    await expect.poll(() => zw.page.locator('#detail').getAttribute('data-id')).toBe(e.id);
    await zw.page.locator('#detail-note').fill('消防已到场');
    await zw.page.keyboard.press('Escape');
    await zw.page.keyboard.press('y');
    await expect.poll(() => state(e.id)).toBe('confirmed');
    const conf = (await h.alerts.audit(e.id, ADMIN)).find((x) => x.action === 'confirm');
    expect(conf?.note).toBe('消防已到场');
    await zw.page.keyboard.press('Escape');
  });

  it('shows every time in the gateway zone, whatever the browser zone is', async () => {
    const ny = await open('lina', 'America/New_York');
    const at = Date.UTC(2026, 11, 1, 1, 4, 5); // 09:04:05 in Shanghai, 20:04:05 the day before in New York
    const f = await h.inject({ cameraId: 'cam-df-02', type: 'illegal_parking', at });
    await card(ny, f.id).waitFor();
    expect(await ny.page.locator('#tz').innerText()).toBe('时区 Asia/Shanghai (GMT+8)');
    await card(ny, f.id).click();
    await expect.poll(() => ny.page.locator('#detail').getAttribute('data-id')).toBe(f.id);
    // firstSeen is 185 s before `at` (the harness's finding): 09:01:00.
    const shown = await ny.page.locator('#detail-facts .time').innerText();
    expect(shown).toBe('2026/12/01 09:01:00');
    await ny.page.locator('#detail-audit li[data-action="create"]').waitFor();
    const created = (await h.alerts.audit(f.id, ADMIN))[0]!.at;
    const zh = new Intl.DateTimeFormat('zh-CN', {
      timeZone: 'Asia/Shanghai',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).format(created);
    expect(await ny.page.locator('#detail-audit li[data-action="create"] .time').innerText()).toBe(zh);
    // The only failed requests are the session probes before login (401).
    expect([...zw.errors, ...ny.errors].filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
