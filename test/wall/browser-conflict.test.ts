import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor } from '../../core/contracts/alert-service.js';
import { Codes, ERROR_CATALOGUE } from '../../core/errors.js';
import { SCREENSHOT_DIR, type WallPage } from './helpers/browser.js';
import type { Harness } from './helpers/wall-harness.js';
import { startWallBrowser, type WallBrowser } from './helpers/wall-browser.js';

// Issue 13 item 1: every action carries the version the operator sees; the server refuses a
// stale one (409 GW_CONFLICT) and the wall reloads the alert and says so, in Chinese.

const ADMIN: Actor = { username: 'admin', displayName: '管理员', role: 'admin', scope: '3301' };

let w: WallBrowser;
let h: Harness;

/**
 * A wall whose pushed alert updates can be held back, as a slow or congested link does: the
 * operator keeps seeing the alert as it was while someone else changes it.
 */
type HeldWall = WallPage & { hold(on: boolean): void };
const held: HeldWall[] = [];
async function openHeldWall(user: string): Promise<HeldWall> {
  let holding = false;
  const wall = await w.open(user, undefined, undefined, (context) =>
    context.routeWebSocket(/\/socket\.io\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(m));
      server.onMessage((m) => {
        // Socket.IO event frames: 42["alert:update",{...}]. Everything else (acks too) goes through.
        if (holding && typeof m === 'string' && m.startsWith('42["alert:update"')) return;
        ws.send(m);
      });
    }),
  );
  const p = { ...wall, hold: (on: boolean) => void (holding = on) };
  held.push(p);
  return p;
}

const serverAlert = (id: string): Promise<Alert> => h.alerts.get(id, ADMIN);
const trail = async (id: string) => (await h.alerts.audit(id, ADMIN)).map((e) => e.action);

beforeAll(async () => {
  w = await startWallBrowser({ logLevel: 'warn' });
  h = w.h;
});
afterAll(() => w?.close());

describe('two operators on the same alert', () => {
  it('a confirm sent for a version someone else has changed is refused, and the wall reloads it', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01' });
    const zw = await openHeldWall('zhangwei');
    const ln = await openHeldWall('lina');
    for (const p of [zw, ln]) {
      await p.page.locator(`#cards .card[data-id="${a.id}"]`).click();
      await expect.poll(() => p.page.locator('#detail').getAttribute('data-version')).toBe(String(a.version));
    }
    // 张伟's link stops delivering updates; 李娜 adds what she learnt by phone.
    zw.hold(true);
    await ln.page.keyboard.press('m');
    await ln.page.keyboard.type('已电话核实：临时停车，司机已驶离');
    await ln.page.keyboard.press('Control+Enter');
    await expect.poll(() => trail(a.id)).toEqual(['create', 'note']);
    const noted = await serverAlert(a.id);
    expect(noted.version).toBe(a.version + 1);
    // 张伟 still sees the alert without the note, and confirms it.
    expect(await zw.page.locator('#detail').getAttribute('data-version')).toBe(String(a.version));
    await zw.page.keyboard.press('y');
    const toast = zw.page.locator('#toast');
    await expect
      .poll(() => toast.innerText())
      .toBe('未执行「确认」：该告警已被lina更新（现为新告警），已重新加载，请核对后再操作');
    // Nothing was done: the alert is as 李娜 left it, with no confirm in its trail.
    expect(await trail(a.id)).toEqual(['create', 'note']);
    expect((await serverAlert(a.id)).state).toBe('new');
    // The detail now shows the current version and the note he had not seen.
    await expect
      .poll(() => zw.page.locator('#detail').getAttribute('data-version'))
      .toBe(String(noted.version));
    await expect
      .poll(() => zw.page.locator('#detail-audit li[data-action="note"]').innerText())
      .toContain('已电话核实：临时停车，司机已驶离');
    expect(await zw.page.locator('#detail').getAttribute('data-id')).toBe(a.id);
    await zw.page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-conflict.png') });
    // Having seen it, he decides again (the link still holding updates back): now it lands.
    await zw.page.keyboard.press('y');
    await expect.poll(() => trail(a.id)).toEqual(['create', 'note', 'confirm']);
    expect((await serverAlert(a.id)).state).toBe('confirmed');
    zw.hold(false);
    expect([...zw.errors, ...ln.errors].filter((e) => !/status of 401/.test(e))).toEqual([]);
  });

  it('both press a key on the same version at once: exactly one action lands, the other wall reloads', async () => {
    const a = await h.inject({ cameraId: 'cam-df-02', type: 'street_vending' });
    const [zw, ln] = held as [HeldWall, HeldWall];
    for (const p of [zw, ln]) {
      await p.page
        .locator('#detail-close')
        .click()
        .catch(() => undefined);
      await p.page.locator(`#cards .card[data-id="${a.id}"]`).click();
      await expect.poll(() => p.page.locator('#detail').getAttribute('data-version')).toBe(String(a.version));
    }
    // Neither sees the other's change before pressing: 张伟 escalates, 李娜 claims. Either may
    // win, never both.
    zw.hold(true);
    ln.hold(true);
    await Promise.all([zw.page.keyboard.press('e'), ln.page.keyboard.press('c')]);
    await expect.poll(async () => (await trail(a.id)).length).toBe(2);
    const actions = await trail(a.id);
    expect(actions[0]).toBe('create');
    expect(['escalate', 'claim']).toContain(actions[1]);
    const loser = actions[1] === 'escalate' ? ln : zw;
    await expect
      .poll(() => loser.page.locator('#toast').innerText())
      .toMatch(/^未执行「(认领|上报)」：该告警已被/);
    const now = await serverAlert(a.id);
    await expect
      .poll(() => loser.page.locator('#detail').getAttribute('data-version'))
      .toBe(String(now.version));
    expect(await trail(a.id)).toEqual(actions);
    zw.hold(false);
    ln.hold(false);
  });
});

describe('HTTP', () => {
  it('an action at a version the alert is no longer at is 409 GW_CONFLICT and changes nothing', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01', type: 'crowd_gathering' });
    const s = await h.login('zhangwei');
    const post = async (body: unknown) => {
      const res = await fetch(`${h.url}/api/v1/alerts/${a.id}/actions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const note = await post({ action: 'note', note: '现场有人', version: a.version });
    expect(note.status).toBe(200);
    const stale = await post({ action: 'claim', version: a.version });
    expect(stale.status).toBe(409);
    expect(stale.json.code).toBe(Codes.GW_CONFLICT);
    expect(stale.json.details).toMatchObject({ alertId: a.id, expected: a.version, current: a.version + 1 });
    expect(ERROR_CATALOGUE[Codes.GW_CONFLICT].zh).toMatch(/[\u4e00-\u9fff]/);
    const ahead = await post({ action: 'claim', version: a.version + 5 });
    expect(ahead.status).toBe(409);
    const missing = await post({ action: 'claim' });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ code: Codes.GW_VALIDATION, field: 'version' });
    expect(await trail(a.id)).toEqual(['create', 'note']);
    const ok = await post({ action: 'claim', version: a.version + 1 });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ state: 'claimed', version: a.version + 2 });
  });
});
