import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type Gateway } from '../../app/build-gateway.js';
import type { Actor } from '../../core/contracts/alert-service.js';
import type { Alert } from '../../core/contracts/alert.js';
import { Codes, ConfigError } from '../../core/errors.js';
import { buildGridIndex } from '../../core/grid/grid-index.js';
import { createLogger } from '../../core/logger.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import type { Whistle } from '../../features/departments/departments-config.js';
import {
  createDepartments,
  DEPT_HEADERS,
  deptSignature,
} from '../../features/departments/create-departments.js';
import { hashPassword } from '../../features/wall/password-hash.js';
import { startTestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { launchChromium, openWall } from '../wall/helpers/browser.js';
import { GRID_FILE, logSink, PASSWORD } from '../wall/helpers/wall-harness.js';

/**
 * 吹哨报到 against a gateway (wall + dispatch) on real Redis and BullMQ: a whistle that two
 * departments must answer — one operator account reporting in at once, one forwarding target
 * (a real HTTP receiver checking the signature) that misses its time, so its delayed job calls
 * the next department — and every step in the audit.
 */
const SECRET = 'jiaojing-system-secret-51';
const ADMIN: Actor = { username: 'admin', displayName: '管理员', role: 'admin', scope: '3301' };
let root: string;
let redis: Awaited<ReturnType<typeof startTestRedis>>;
let gw: Gateway;
let url: string;
let receiver: Server;
const notices: { dept: string; ok: boolean; at: number; body: Record<string, unknown> }[] = [];
/** /flaky answers 503 until the test has seen the whistle say its notice is failing. */
let flakyOpen = false;
const { stream, sink } = logSink();
const tokens: Record<string, string> = {};
let whistled: string | null = null;
let retried: string | null = null;

const DEPTS = (recv: string) => `reportInSec: 600
notice: { attempts: 4, baseMs: 100, maxMs: 400 }
departments:
  - code: chengguan
    name: 区城市管理局
    types: [road_obstruction, street_vending]
    scope: ['330101']
    operators: [cg1]
  - code: jiaojing
    name: 交警大队
    types: [road_obstruction]
    scope: ['3301']
    reportInSec: 1
    forward: { url: '${recv}', secret: { file: secrets/jj.key } }
    escalateTo: [zhujian]
  - code: zhujian
    name: 区住房和城乡建设局
    types: [garbage_exposed]
    scope: ['3301']
    operators: [zj1]
  - code: elsewhere
    name: 别区城管
    types: [road_obstruction]
    scope: ['330102']
    operators: [zj1]
  - code: yingji
    name: 区应急管理局
    types: [illegal_parking]
    scope: ['3301']
    forward: { url: '${recv.replace('/whistles', '/flaky')}', secret: { file: secrets/jj.key } }
  - code: shichang
    name: 区市场监管局
    types: [illegal_parking]
    scope: ['3301']
    forward: { url: '${recv.replace('/whistles', '/down')}', secret: { file: secrets/jj.key } }
  - code: wuye
    name: 物业公司
    types: [illegal_parking]
    scope: ['3301']
    forward: { url: '${recv.replace('/whistles', '/refuse')}', secret: { file: secrets/jj.key } }
`;

async function call(method: string, path: string, who: string | null, body?: unknown) {
  const r = await fetch(`${url}/api/v1/departments${path}`, {
    method,
    headers: {
      ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies read loosely in asserts
  return { status: r.status, json: (await r.json()) as any };
}

async function raise(type: string): Promise<Alert> {
  const t = Date.now();
  await gw.dispatcher.sink.submit({
    id: `det:cam-d:${type}:${t}`,
    cameraId: 'cam-d',
    type,
    zoneId: null,
    score: 0.9,
    trackIds: [`k${t}`],
    boxes: [],
    firstSeen: t - 5_000,
    lastSeen: t,
    evidence: { first: null, latest: null },
    detector: { plugin: 'test', version: '1' },
  });
  return waitFor(`${type} alert`, async () =>
    (await gw.dispatcher.alerts.list({ scope: '3301', types: [type], limit: 5 })).items.at(0),
  );
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'gw-depts-'));
  redis = await startTestRedis();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const ts = Number(req.headers[DEPT_HEADERS.timestamp]);
      const ok = req.headers[DEPT_HEADERS.signature] === deptSignature(SECRET, ts, body);
      notices.push({
        dept: String(req.headers[DEPT_HEADERS.department]),
        ok,
        at: Date.now(),
        body: JSON.parse(body.toString()),
      });
      const status =
        !ok || req.url === '/refuse'
          ? 400
          : req.url === '/down' || (req.url === '/flaky' && !flakyOpen)
            ? 503
            : 202;
      res.writeHead(status).end(status === 202 ? '' : 'receiver says no');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const recv = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/whistles`;
  mkdirSync(join(root, 'cameras'));
  mkdirSync(join(root, 'secrets'));
  writeFileSync(join(root, 'secrets', 'jj.key'), SECRET);
  writeFileSync(join(root, 'departments.yaml'), DEPTS(recv));
  writeFileSync(
    join(root, 'cameras', 'c.yaml'),
    `cameras:\n  - id: cam-d\n    name: 东风路口\n    source: { kind: rtsp, url: 'rtsp://127.0.0.1:9/x' }\n    location: { lon: 120.02, lat: 30.02, crs: WGS84 }\n    gridCode: '330101001001001'\n    detectors: []\n`,
  );
  const hash = await hashPassword(PASSWORD);
  const user = (u: string, role: string, scope: string) =>
    `  - { username: ${u}, displayName: ${u}, role: ${role}, scope: '${scope}', passwordHash: '${hash}' }\n`;
  writeFileSync(
    join(root, 'gateway.yaml'),
    `http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ngrids: { file: ${JSON.stringify(GRID_FILE)} }\n` +
      `departments: { file: ./departments.yaml }\nusers:\n` +
      user('admin', 'admin', '3301') +
      user('zhangwei', 'operator', '330101') +
      user('wangqiang', 'operator', '330102') +
      user('viewer', 'viewer', '3301') +
      // Department operators: their own grid scope is elsewhere; they act on what is sent to them.
      user('cg1', 'operator', '330102') +
      user('zj1', 'operator', '330102'),
  );
  gw = await buildGateway({
    config: join(root, 'gateway.yaml'),
    roles: ['wall', 'dispatch'],
    redisUrl: redis.url,
    logger: createLogger({ level: 'warn', destination: stream }),
  });
  url = gw.url!;
  for (const u of ['admin', 'zhangwei', 'wangqiang', 'viewer', 'cg1', 'zj1']) {
    const r = await fetch(`${url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: u, password: PASSWORD }),
    });
    tokens[u] = ((await r.json()) as { token: string }).token;
  }
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await redis?.close();
  await new Promise((r) => receiver?.close(r));
  rmSync(root, { recursive: true, force: true });
});

describe('吹哨报到', () => {
  it('calls the departments of the type and area; one reports in, one misses its time and the next is called', async () => {
    const a = await raise('road_obstruction');
    whistled = a.id;
    expect((await call('POST', `/whistles/${a.id}`, 'viewer', {})).status).toBe(403);
    // Out of the operator's scope: as if it did not exist.
    expect((await call('POST', `/whistles/${a.id}`, 'wangqiang', {})).status).toBe(404);
    const w = await call('POST', `/whistles/${a.id}`, 'zhangwei', { note: '道路占用需交警和城管' });
    expect(w.status).toBe(201);
    // 'elsewhere' handles the type but not this area; zhujian not the type.
    expect((w.json as Whistle).calls.map((c) => c.code)).toEqual(['chengguan', 'jiaojing']);
    expect((await call('POST', `/whistles/${a.id}`, 'zhangwei', {})).json.code).toBe(Codes.GW_CONFLICT);

    // The forwarding department got a signed notice.
    const n = await waitFor('notice', () => notices.find((x) => x.dept === 'jiaojing'));
    expect(n.ok).toBe(true);
    expect(n.body).toMatchObject({ kind: 'whistle', alertId: a.id, department: 'jiaojing' });

    // The department operator sees it in the inbox though the alert is outside their grid scope …
    const box = await call('GET', '/inbox', 'cg1');
    expect(box.json.whistles.map((x: Whistle) => x.alertId)).toContain(a.id);
    expect((await call('GET', `/whistles/${a.id}`, 'cg1')).status).toBe(200);
    // … and reports in for their own department only.
    const wrong = await call('POST', `/whistles/${a.id}/report-in`, 'cg1', { department: 'jiaojing' });
    expect(wrong.status).toBe(403);
    expect(wrong.json.field).toBe('department');
    const r = await call('POST', `/whistles/${a.id}/report-in`, 'cg1', {
      department: 'chengguan',
      note: '已派队员',
    });
    expect(r.status).toBe(200);
    expect(r.json.calls.find((c: { code: string }) => c.code === 'chengguan').reportedBy).toBe('cg1');
    expect((await call('GET', '/inbox', 'zj1')).json.whistles.map((x: Whistle) => x.alertId)).not.toContain(
      a.id,
    );

    // 交警 has 1 s: its BullMQ delayed job marks it overdue and calls 住建 (escalateTo).
    const late = await waitFor('escalation', async () => {
      const cur = await gw.dispatcher.alerts.audit(a.id, ADMIN);
      return cur.some((e) => e.note?.includes('交警大队 未在'))
        ? (await call('GET', `/whistles/${a.id}`, 'admin')).json
        : null;
    });
    const jj = (late as Whistle).calls.find((c) => c.code === 'jiaojing')!;
    expect(jj.overdueAt).not.toBeNull();
    expect((late as Whistle).calls.find((c) => c.code === 'zhujian')).toMatchObject({
      level: 2,
      reportedAt: null,
    });
    expect((await call('GET', '/inbox', 'zj1')).json.whistles.map((x: Whistle) => x.alertId)).toContain(a.id);

    // 交警 reports in late through its signed callback; a bad signature is 401.
    const body = JSON.stringify({ department: 'jiaojing', note: '民警已到场' });
    const ts = Math.floor(Date.now() / 1000);
    const send = (sig: string) =>
      fetch(`${url}/api/v1/departments/whistles/${a.id}/report-in`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [DEPT_HEADERS.department]: 'jiaojing',
          [DEPT_HEADERS.timestamp]: String(ts),
          [DEPT_HEADERS.signature]: sig,
        },
        body,
      });
    expect((await send(deptSignature('wrong', ts, body))).status).toBe(401);
    const ok = await send(deptSignature(SECRET, ts, body));
    expect(ok.status).toBe(200);

    const audit = (await gw.dispatcher.alerts.audit(a.id, ADMIN)).map((e) => `${e.actor} ${e.note ?? ''}`);
    expect(
      audit.some(
        (x) => x.includes('吹哨 by zhangwei') && x.includes('区城市管理局') && x.includes('交警大队'),
      ),
    ).toBe(true);
    expect(audit.some((x) => x.includes('报到: 区城市管理局 (cg1)'))).toBe(true);
    expect(audit.some((x) => x.includes('升级: 通知 区住房和城乡建设局'))).toBe(true);
    // The notice to 交警's system: delivered at the first attempt, and that is in the audit too.
    expect(audit.some((x) => x.endsWith('吹哨通知 交警大队 已送达'))).toBe(true);
    expect(audit.some((x) => x.includes('报到: 交警大队 (department:jiaojing)') && x.includes('超时'))).toBe(
      true,
    );
  });

  it('retries a failing notice with backoff; a refused or exhausted one is given up in the audit and the log', async () => {
    const a = await raise('illegal_parking');
    retried = a.id;
    const w = await call('POST', `/whistles/${a.id}`, 'zhangwei', {});
    expect(w.status).toBe(201);
    expect((w.json as Whistle).calls.map((c) => [c.code, c.notice?.status])).toEqual([
      ['yingji', 'pending'],
      ['shichang', 'pending'],
      ['wuye', 'pending'],
    ]);
    const whistle = async () => (await call('GET', `/whistles/${a.id}`, 'admin')).json as Whistle;
    const of = (x: Whistle, code: string) => x.calls.find((c) => c.code === code)!.notice!;
    // While it is being retried, the whistle says so, with the attempts and the error code.
    const failing = await waitFor('failing notice', async () => {
      const x = await whistle();
      return of(x, 'yingji').status === 'failing' ? of(x, 'yingji') : null;
    });
    expect(failing.lastError).toMatchObject({ kind: 'http_5xx', httpStatus: 503 });
    flakyOpen = true;
    const done = await waitFor('notices settled', async () => {
      const x = await whistle();
      return x.calls.every((c) => c.notice && ['sent', 'failed'].includes(c.notice.status)) ? x : null;
    });
    const sent = (dept: string) => notices.filter((n) => n.dept === dept && n.body.alertId === a.id);
    // Sent at the attempt after the receiver opened; each attempt counted, every one signed.
    expect(of(done, 'yingji')).toMatchObject({ status: 'sent', lastError: null });
    expect(of(done, 'yingji').attempts).toBeGreaterThanOrEqual(2);
    expect(sent('yingji')).toHaveLength(of(done, 'yingji').attempts);
    expect(sent('yingji').every((n) => n.ok)).toBe(true);
    // 503 every time: all 4 attempts, spaced by the doubling backoff (100, 200, 400 ms), then given up.
    expect(of(done, 'shichang')).toMatchObject({
      status: 'failed',
      attempts: 4,
      lastError: { kind: 'http_5xx', httpStatus: 503 },
    });
    const at = sent('shichang').map((n) => n.at);
    expect(at).toHaveLength(4);
    [100, 200, 400].forEach((ms, i) => expect(at[i + 1]! - at[i]!).toBeGreaterThanOrEqual(ms - 2));
    // A 400 will not change by retrying: given up after the first attempt.
    expect(of(done, 'wuye')).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { kind: 'http_4xx', httpStatus: 400 },
    });
    expect(sent('wuye')).toHaveLength(1);

    const audit = await waitFor('give-ups in the audit', async () => {
      const list = (await gw.dispatcher.alerts.audit(a.id, ADMIN)).map((e) => e.note ?? '');
      return list.filter((x) => x.includes('已放弃')).length === 2 ? list : null;
    });
    expect(
      audit.some((x) => x.startsWith('吹哨通知 区应急管理局 未送达 (http_5xx') && x.includes('将重试')),
    ).toBe(true);
    expect(audit.some((x) => /^吹哨通知 区应急管理局 已送达 \(第 \d 次尝试\)$/.test(x))).toBe(true);
    expect(
      audit.some((x) =>
        x.startsWith('吹哨通知 区市场监管局 未送达，已放弃: 4 次尝试, 最后错误 http_5xx (HTTP 503)'),
      ),
    ).toBe(true);
    expect(
      audit.some((x) =>
        x.startsWith('吹哨通知 物业公司 未送达，已放弃: 1 次尝试, 最后错误 http_4xx (HTTP 400)'),
      ),
    ).toBe(true);
    const gaveUp = sink.lines
      .map((l) => JSON.parse(l) as { level: number; msg: string; department?: string; attempts?: number })
      .filter((l) => l.msg === 'whistle notice not delivered; gave up');
    expect(gaveUp.map((l) => [l.department, l.attempts, l.level]).sort()).toEqual([
      ['shichang', 4, 40],
      ['wuye', 1, 40],
    ]);
  });

  it('the wall detail panel shows who was called, who reported in, how long it took', async () => {
    expect(whistled).not.toBeNull();
    const browser = await launchChromium();
    try {
      const w = await openWall(browser, url, 'admin', PASSWORD);
      await w.page.locator(`#cards .card[data-id="${whistled}"]`).click();
      const li = (code: string) => w.page.locator(`#detail-facts li[data-department="${code}"]`);
      await li('chengguan').waitFor();
      expect(await li('chengguan').textContent()).toMatch(/^区城市管理局: ✓ 报到 \d+ 分钟$/);
      expect(await li('jiaojing').textContent()).toMatch(/^交警大队: ✓ 报到 \d+ 分钟（超时） · 已通知$/);
      expect(await li('zhujian').textContent()).toMatch(/^区住房和城乡建设局: ⏳ 限 /);
      // The notices of the second whistle: delivered after retries, and given up with the error code.
      expect(retried).not.toBeNull();
      await w.page.keyboard.press('Escape');
      await expect.poll(() => w.page.locator('#detail').isHidden()).toBe(true);
      await w.page.locator(`#cards .card[data-id="${retried}"]`).click();
      await li('wuye').waitFor();
      expect(await li('yingji').locator('.notice').textContent()).toBe(' · 已通知');
      expect(await li('shichang').locator('.notice').textContent()).toBe(
        ' · 通知未送达，已放弃（4 次，HTTP 503 平台故障）',
      );
      expect(await li('wuye').locator('.notice').textContent()).toBe(
        ' · 通知未送达，已放弃（1 次，HTTP 400 平台拒收）',
      );
      // As in test/wall: the 401 of the session check before login, 404s of absent evidence.
      expect(w.errors.filter((e) => !/401|404/.test(e))).toEqual([]);
      await w.context.close();
    } finally {
      await browser.close();
    }
  });

  it('no responsible department is 409; a department that does not handle the alert is 400 naming it', async () => {
    const a = await raise('fire_smoke');
    expect((await call('POST', `/whistles/${a.id}`, 'admin', {})).status).toBe(409);
    const b = await raise('street_vending');
    const bad = await call('POST', `/whistles/${b.id}`, 'admin', { departments: ['jiaojing'] });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe('departments[0]');
    const junk = await fetch(`${url}/api/v1/departments/whistles/${b.id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      body: '{"note":',
    });
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { code: string }).code).toBe(Codes.GW_VALIDATION);
    const unknown = await call('POST', `/whistles/${b.id}`, 'admin', {
      departments: ['chengguan'],
      urgent: true,
    });
    expect(unknown.json.field).toBe('urgent');
    const ok = await call('POST', `/whistles/${b.id}`, 'admin', { departments: ['chengguan'] });
    expect(ok.json.calls.map((c: { code: string }) => c.code)).toEqual(['chengguan']);
  });

  it('statistics per department: whistles received, time to report in, missed deadlines, notices given up', async () => {
    const stats = async (who: string, query = '') => call('GET', `/stats${query}`, who);
    const all = await stats('admin');
    expect(all.status).toBe(200);
    // The three whistles above: road_obstruction (城管 in time, 交警 late after missing, 住建 called
    // next), illegal_parking (three forward departments), street_vending (城管).
    expect(all.json).toMatchObject({ enabled: true, whistles: 3, truncated: false });
    const row = (code: string) => all.json.departments.find((r: { code: string }) => r.code === code);
    expect(all.json.departments.map((r: { code: string }) => r.code)).toEqual([
      'chengguan',
      'jiaojing',
      'shichang',
      'wuye',
      'yingji',
      'zhujian',
    ]);
    const first = (await call('GET', `/whistles/${whistled}`, 'admin')).json as Whistle;
    const took = (code: string) => {
      const c = first.calls.find((x) => x.code === code)!;
      return c.reportedAt! - c.calledAt;
    };
    expect(row('chengguan')).toMatchObject({
      name: '区城市管理局',
      called: 2,
      reported: 1,
      missed: 0,
      medianReportInMs: took('chengguan'),
      p90ReportInMs: took('chengguan'),
    });
    expect(row('jiaojing')).toMatchObject({
      called: 1,
      reported: 1,
      reportedLate: 1,
      missed: 1,
      noticeFailed: 0,
    });
    expect(row('zhujian')).toMatchObject({ called: 1, reported: 0, missed: 0, medianReportInMs: null });
    expect(row('shichang')).toMatchObject({ called: 1, noticeFailed: 1 });
    expect(row('wuye')).toMatchObject({ called: 1, noticeFailed: 1 });
    expect(row('yingji')).toMatchObject({ called: 1, noticeFailed: 0 });
    expect(all.json.totals).toMatchObject({
      called: 7,
      reported: 2,
      reportedLate: 1,
      missed: 1,
      noticeFailed: 2,
    });

    // Scope and filters: another county sees none; by type; by grid.
    expect((await stats('zhangwei')).json.whistles).toBe(3);
    expect((await stats('wangqiang')).json).toMatchObject({ whistles: 0, departments: [] });
    expect((await stats('admin', '?gridCode=330102')).json.whistles).toBe(0);
    const sv = await stats('admin', '?type=street_vending');
    expect(sv.json.departments.map((r: { code: string; called: number }) => [r.code, r.called])).toEqual([
      ['chengguan', 1],
    ]);
    // A range that ends before the whistles: none.
    expect((await stats('admin', `?from=${first.at - 86_400_000}&to=${first.at}`)).json.whistles).toBe(0);
    // Bad queries: 400 naming the field.
    for (const [q, field] of [
      ['?to=soon', 'to'],
      [`?from=${first.at}&to=${first.at - 1}`, 'to'],
      ['?urgent=1', 'urgent'],
    ] as const) {
      const r = await stats('admin', q);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ code: Codes.GW_VALIDATION, field });
    }
    expect((await call('GET', '/stats', null)).status).toBe(401);

    // The 统计考核 page shows the table (zh-CN), and in English after the switch.
    const browser = await launchChromium();
    try {
      const w = await openWall(browser, url, 'admin', PASSWORD);
      await w.page.locator('#nav a[data-view="stats"]').click();
      const tr = w.page.locator('#stats-dept-table tbody tr[data-key="shichang"]');
      await tr.waitFor();
      expect(await tr.locator('td').allTextContents()).toEqual([
        '区市场监管局',
        '1',
        '0',
        '—',
        '—',
        '0',
        '1',
      ]);
      expect(await w.page.locator('#stats-departments h3').textContent()).toBe('部门报到');
      await w.page.locator('header .lang-switch').click();
      await w.page.locator('#stats-dept-table th', { hasText: 'P90 to report in (min)' }).waitFor();
      expect(w.errors.filter((e) => !/401|404/.test(e))).toEqual([]);
      await w.context.close();
    } finally {
      await browser.close();
    }
  });

  it('a damaged stored whistle: statistics skip it and say so, reading it is GW_STORED_CORRUPT, not an internal error', async () => {
    const c = new Redis(redis.url);
    try {
      const [first] = await c.keys('*dept:whistle:*');
      const prefix = first!.slice(0, first!.indexOf('dept:whistle:'));
      const before = (await call('GET', '/stats', 'admin')).json.whistles as number;
      // As another version or a hand edit might leave it: not JSON, and JSON of the wrong shape.
      await c.set(`${prefix}dept:whistle:broken-1`, '{"alertId":"broken-1", "at": ');
      await c.set(`${prefix}dept:whistle:broken-2`, JSON.stringify({ alertId: 'broken-2', at: 'soon' }));
      // Scored like the whistles already there, so the default range reads them.
      const [, score] = await c.zrange(`${prefix}dept:whistles`, '0', '0', 'WITHSCORES');
      await c.zadd(`${prefix}dept:whistles`, score!, 'broken-1', score!, 'broken-2');
      const stats = await call('GET', '/stats', 'admin');
      expect(stats.status).toBe(200);
      expect(stats.json.whistles).toBe(before);
      const skipped = sink.lines
        .map((l) => JSON.parse(l) as { msg: string; damaged?: number })
        .filter((l) => l.msg === 'department stats skipped damaged stored whistles');
      expect(skipped.map((l) => l.damaged)).toEqual([2]);
      for (const id of ['broken-1', 'broken-2']) {
        const r = await call('GET', `/whistles/${id}`, 'admin');
        expect(r.json.code).toBe(Codes.GW_STORED_CORRUPT);
        expect(JSON.stringify(r.json)).not.toMatch(/SyntaxError|ZodError|at .*\.ts/);
      }
    } finally {
      const damaged = await c.keys('*dept:whistle:broken-*');
      if (damaged.length) await c.del(...damaged);
      const [idx] = await c.keys('*dept:whistles');
      if (idx) await c.zrem(idx, 'broken-1', 'broken-2');
      c.disconnect();
    }
  });

  it('departments.yaml naming an unknown escalateTo department is refused with file, line and field', async () => {
    const f = join(root, 'bad-departments.yaml');
    writeFileSync(
      f,
      `departments:\n  - code: a1\n    name: 甲\n    types: [x_y]\n    scope: ['3301']\n    operators: [u1]\n    escalateTo: [nobody]\n`,
    );
    const dp = createDepartments({
      config: { file: f },
      baseDir: root,
      redisUrl: redis.url,
      prefix: 'gw-bad:',
      alerts: gw.dispatcher.alerts,
      grids: () => buildGridIndex([]),
      actorOf: () => Promise.resolve(ADMIN),
      worker: false,
      watch: false,
      logger: createLogger({ level: 'silent' }),
      metrics: createMetricsRegistry(),
    });
    const err = await dp.start().catch((e: unknown) => e);
    await dp.close();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatchObject({ path: 'departments[0].escalateTo', line: 7 });
  });
});
