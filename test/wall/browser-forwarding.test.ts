import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor } from '../../core/contracts/alert-service.js';
import type { ForwardingOverview } from '../../core/contracts/forwarding.js';
import { launchChromium, openWall, SCREENSHOT_DIR, type WallPage } from './helpers/browser.js';
import { PASSWORD, startHarness, type Harness } from './helpers/wall-harness.js';

// Issue 13 item 3: each confirmed alert shows where its case stands (待转发 / 已转发 / 转发失败 /
// 未配置目标, with the last error in Chinese); the admin sees targets, backlog and last failure;
// a confirmed alert no target takes is visible as such to both, and logged.

const ADMIN: Actor = { username: 'admin', displayName: '管理员', role: 'admin', scope: '3301' };
process.env.GW_TEST_WALL_PLATFORM_SECRET = 'wall-forwarding-test-secret';

/** A grid platform's case intake whose answer the test sets: accept, or fail with 503. */
interface Platform {
  url: string;
  mode: 'ok' | 'down';
  received: string[];
  close(): Promise<void>;
}
async function startPlatform(): Promise<Platform> {
  const p = { mode: 'ok' as 'ok' | 'down', received: [] as string[] };
  let n = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      if (p.mode === 'down') {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
        return;
      }
      p.received.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ caseId: `AJ-${++n}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(p, {
    url: `http://127.0.0.1:${port}/cases`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}

/** A port where nothing listens (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let h: Harness;
let platform: Platform;
let browser: Browser;
let zw: WallPage;
let admin: WallPage;
const secret = { env: 'GW_TEST_WALL_PLATFORM_SECRET' };

beforeAll(async () => {
  platform = await startPlatform();
  const dead = await closedPort();
  h = await startHarness({
    logLevel: 'info',
    dispatcher: { forwardBackoff: { baseMs: 100, maxMs: 300 } },
    forwarding: [
      // Every type but fire_smoke: a confirmed fire alert has nowhere to go.
      {
        id: 'city',
        url: platform.url,
        secret,
        maxAttempts: 200,
        types: ['illegal_parking', 'street_vending', 'crowd_gathering', 'road_obstruction'],
      },
      // Street vending also goes to a district platform that is not there.
      {
        id: 'district',
        url: `http://127.0.0.1:${dead}/cases`,
        secret,
        maxAttempts: 2,
        types: ['street_vending'],
      },
    ],
  });
  browser = await launchChromium();
  zw = await openWall(browser, h.url, 'zhangwei', PASSWORD);
});
afterAll(async () => {
  await zw?.context.close();
  await admin?.context.close();
  await browser?.close();
  await h?.close();
  await platform?.close();
});

const get = (id: string): Promise<Alert> => h.alerts.get(id, ADMIN);
const card = (id: string) => zw.page.locator(`#cards .card[data-id="${id}"]`);
async function confirmInWall(a: Alert): Promise<void> {
  await zw.page.locator('#f-state').selectOption('all');
  await card(a.id).click();
  await expect.poll(() => zw.page.locator('#detail').getAttribute('data-id')).toBe(a.id);
  await zw.page.keyboard.press('y');
  await expect.poll(async () => (await get(a.id)).forwarding?.status).toBeDefined();
}
const fact = () => zw.page.locator('#detail-forwarding');

describe('forwarding status on the alert', () => {
  it('sent: 已转发 on the card and in the detail, with the case id', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01' });
    await confirmInWall(a);
    await expect.poll(async () => (await get(a.id)).forwarding?.status).toBe('sent');
    const now = await get(a.id);
    expect(now.state).toBe('forwarded');
    expect(now.forwarding?.targets).toEqual([
      expect.objectContaining({ target: 'city', status: 'sent', attempts: 1, lastError: null }),
    ]);
    await expect.poll(() => fact().locator('.fwd-badge').innerText()).toBe('已转发');
    expect(await fact().locator('li[data-target="city"]').innerText()).toMatch(
      /^city：已转发 · \d{4}\/\d\d\/\d\d /,
    );
    expect(await card(a.id).locator('.fwd-badge').innerText()).toBe('已转发');
    await zw.page.keyboard.press('Escape');
  });

  it('platform down: 待转发 with the last error in Chinese while it retries, then 已转发', async () => {
    platform.mode = 'down';
    const a = await h.inject({ cameraId: 'cam-df-02', type: 'road_obstruction' });
    await confirmInWall(a);
    await expect.poll(async () => (await get(a.id)).forwarding?.targets[0]?.lastError?.kind).toBe('http_5xx');
    expect((await get(a.id)).forwarding?.status).toBe('pending');
    await expect.poll(() => fact().locator('.fwd-badge').innerText()).toBe('待转发');
    await expect
      .poll(() => fact().locator('li[data-target="city"] .fwd-error').innerText())
      .toMatch(/^第 \d+ 次尝试失败：平台故障（HTTP 503）$/);
    // The sender's English stays out of the text (it is the tooltip, for whoever needs it).
    expect(await fact().locator('li[data-target="city"] .fwd-error').getAttribute('title')).toMatch(
      /^HTTP 503/,
    );
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await zw.page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-forwarding-pending.png') });
    platform.mode = 'ok';
    await expect.poll(async () => (await get(a.id)).forwarding?.status, { timeout: 15_000 }).toBe('sent');
    await expect.poll(() => fact().locator('.fwd-badge').innerText()).toBe('已转发');
    await zw.page.keyboard.press('Escape');
  });

  it('one target gives up: 转发失败, naming the target and the reason (connection refused)', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01', type: 'street_vending' });
    await confirmInWall(a);
    await expect.poll(async () => (await get(a.id)).forwarding?.status, { timeout: 15_000 }).toBe('failed');
    const f = (await get(a.id)).forwarding!;
    expect(f.targets.find((t) => t.target === 'district')).toMatchObject({
      status: 'failed',
      attempts: 2,
      lastError: { kind: 'connection_refused', httpStatus: null },
    });
    await expect.poll(() => fact().locator('.fwd-badge').innerText()).toBe('转发失败');
    await expect
      .poll(() => fact().locator('li[data-target="district"]').innerText())
      .toBe('district：转发失败 · 第 2 次尝试失败：连接被拒绝');
    expect(await card(a.id).locator('.fwd-badge').innerText()).toBe('转发失败');
    await zw.page.keyboard.press('Escape');
  });

  it('no target takes the type: 未配置目标 on the card and in the detail, a warn log line, never silent', async () => {
    const a = await h.inject({ cameraId: 'cam-df-02', type: 'fire_smoke' });
    await confirmInWall(a);
    const now = await get(a.id);
    expect(now.state).toBe('confirmed');
    expect(now.forwarding).toMatchObject({ status: 'no_target', targets: [] });
    await expect.poll(() => fact().locator('.fwd-badge').innerText()).toBe('未配置目标');
    expect(await fact().locator('.fwd-hint').innerText()).toMatch(/^没有转发目标接收此类告警/);
    expect(await card(a.id).locator('.fwd-badge').innerText()).toBe('未配置目标');
    await zw.page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-forwarding-no-target.png') });
    const line = h.logs.lines.find((l) => l.includes(a.id) && l.includes('no forwarding target'));
    expect(line, 'one warn line names the alert').toBeDefined();
    expect(JSON.parse(line!).level).toBe(40);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/gridwatch_dispatcher_confirmed_without_target_total\{type="fire_smoke"\} 1/);
    expect(metrics).toMatch(/gridwatch_dispatcher_forward_backlog\{target="city"\} 0/);
    await zw.page.keyboard.press('Escape');
  });
});

describe('admin view of forwarding', () => {
  it('lists targets with backlog, dead letters and last failure, and the confirmed alerts with no target', async () => {
    const s = await h.login('admin');
    const res = await fetch(`${h.url}/api/v1/admin/forwarding`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    expect(res.status).toBe(200);
    const o = (await res.json()) as ForwardingOverview;
    const city = o.targets.find((t) => t.id === 'city')!;
    const district = o.targets.find((t) => t.id === 'district')!;
    expect(city).toMatchObject({
      backlog: 0,
      deadLetters: 0,
      lastFailure: { kind: 'http_5xx', httpStatus: 503 },
    });
    expect(city.endpoint).toBe(new URL(platform.url).origin);
    expect(city.lastOkAt).not.toBeNull();
    expect(district).toMatchObject({
      backlog: 0,
      deadLetters: 1,
      lastOkAt: null,
      lastFailure: { kind: 'connection_refused' },
    });
    expect(o.untargeted.count).toBe(1);
    expect(o.untargeted.recent[0]).toMatchObject({ type: 'fire_smoke' });
    // Operators are refused.
    const op = await h.login('zhangwei');
    const refused = await fetch(`${h.url}/api/v1/admin/forwarding`, {
      headers: { authorization: `Bearer ${op.token}` },
    });
    expect(refused.status).toBe(403);

    admin = await openWall(browser, h.url, 'admin', PASSWORD);
    await admin.page.goto(`${h.url}/#admin`);
    const sec = admin.page.locator('[data-section="forwarding"]');
    await sec.waitFor();
    expect(await sec.locator('h2').innerText()).toBe('转发目标');
    expect(await sec.locator('[data-backlog="city"]').innerText()).toBe('0');
    expect(await sec.locator('[data-last-failure="district"]').innerText()).toMatch(/^连接被拒绝 · /);
    expect(await sec.locator('[data-last-failure="city"]').innerText()).toMatch(/^平台故障（HTTP 503） · /);
    expect(await sec.locator('[data-untargeted]').getAttribute('data-untargeted')).toBe('1');
    expect(await sec.locator('.fwd-untargeted p').innerText()).toBe('已确认但无转发目标的告警：1 条');
    await sec.evaluate((el) => (el as unknown as { scrollIntoView(): void }).scrollIntoView());
    await admin.page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-admin-forwarding.png') });
    expect([...zw.errors, ...admin.errors].filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
