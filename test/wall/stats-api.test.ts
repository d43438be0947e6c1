import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AuditEntry } from '../../core/contracts/alert.js';
import type { AlertService, AlertTimeline } from '../../core/contracts/alert-service.js';
import { aggregateStats, csvField, median, statsCsv } from '../../features/wall/stats-aggregate.js';
import { dayStart, statsRange } from '../../features/wall/stats-api.js';
import { alertLifecycleTable } from '../../app/alert-lifecycle-table.js';
import { startHarness, type Harness } from './helpers/wall-harness.js';

/**
 * 考核 statistics (features/wall/stats-api.ts) over alerts made by the real dispatcher path
 * (finding → alert engine → redis) and moved by real operator actions over HTTP. The service
 * the wall gets answers timelines() city-wide whatever the scope asked, so the wall's own
 * scope filter is what keeps 江南区's alerts out of 东城区's figures.
 */
const leaky = (real: AlertService): AlertService => ({
  ...real,
  timelines: (q) => real.timelines({ ...q, scope: '3301' }),
});

let h: Harness;
const A: Alert[] = []; // 东城区: A0, A1 (grid 1, parking), A2 (grid 2, vending), A3 (北山, parking)
let B: Alert; // 江南区
const open = alertLifecycleTable().openStates;

async function call(path: string, token?: string, init: RequestInit = {}) {
  const res = await fetch(`${h.url}/api/v1${path}`, {
    ...init,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
  });
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked field by field below
  return { status: res.status, type, body: body as any };
}
// One session per user: a login costs a password hash.
const sessions = new Map<string, Promise<{ token: string }>>();
const login = (user: string) => {
  if (!sessions.has(user)) sessions.set(user, h.login(user));
  return sessions.get(user)!;
};
const act = async (user: string, id: string, body: object) => {
  const { token } = await login(user);
  // Every action names the version it was meant for: the one this operator reads now.
  const { version } = (await call(`/alerts/${id}`, token)).body.alert;
  const r = await call(`/alerts/${id}/actions`, token, {
    method: 'POST',
    body: JSON.stringify({ ...body, version }),
  });
  expect(r.status).toBe(200);
};
const auditOf = async (id: string): Promise<AuditEntry[]> => {
  const { token } = await login('admin');
  return (await call(`/alerts/${id}`, token)).body.audit;
};
const dayOf = (at: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(at);
const firstTo = (audit: AuditEntry[], ...to: string[]) => audit.find((e) => to.includes(e.to))!.at;

beforeAll(async () => {
  h = await startHarness({ wrapAlerts: leaky, logLevel: 'warn' });
  A.push(await h.inject({ cameraId: 'cam-df-01' }));
  A.push(await h.inject({ cameraId: 'cam-df-01' }));
  A.push(await h.inject({ cameraId: 'cam-df-02', type: 'street_vending' }));
  A.push(await h.inject({ cameraId: 'cam-bs-01' }));
  B = await h.inject({ cameraId: 'cam-bj-01', type: 'street_vending' });
  await act('zhangwei', A[0]!.id, { action: 'claim' });
  await act('zhangwei', A[0]!.id, { action: 'confirm' });
  await act('lina', A[1]!.id, { action: 'reject', reason: 'false_detection' });
  await act('lina', A[2]!.id, { action: 'claim' });
  await act('wangqiang', B.id, { action: 'reject', reason: 'not_violation' });
});
afterAll(async () => {
  await h?.close();
});

describe('GET /api/v1/stats/summary', () => {
  it('counts raised, claimed, confirmed, rejected and medians per county, from the audit', async () => {
    const { token } = await login('zhangwei');
    const r = await call('/stats/summary?period=7d', token);
    expect(r.status).toBe(200);
    expect(r.body.rows.map((x: { key: string }) => x.key)).toEqual(['330101']);
    const a0 = await auditOf(A[0]!.id);
    const a2 = await auditOf(A[2]!.id);
    const claims = [firstTo(a0, 'claimed') - A[0]!.createdAt, firstTo(a2, 'claimed') - A[2]!.createdAt];
    expect(r.body.rows[0]).toEqual({
      key: '330101',
      name: '东城区',
      raised: 4,
      claimed: 2,
      confirmed: 1,
      rejected: 1,
      falseDetections: 1,
      rejectRate: 0.5,
      closed: 0,
      medianClaimMs: (claims[0]! + claims[1]!) / 2,
      medianConfirmMs: firstTo(a0, 'confirmed') - A[0]!.createdAt,
      medianCloseMs: null,
      overdue: 0,
    });
    expect(r.body.totals).toMatchObject({ raised: 4, rejected: 1 });
    expect(r.body).toMatchObject({ timeZone: 'Asia/Shanghai', groupBy: 'county', truncated: false });
  });

  it('groups by grid, type and operator', async () => {
    const { token } = await login('zhangwei');
    const by = async (g: string) =>
      (await call(`/stats/summary?groupBy=${g}`, token)).body.rows.map(
        (x: { key: string; raised: number; confirmed: number; rejected: number }) => [
          x.key,
          x.raised,
          x.confirmed,
          x.rejected,
        ],
      );
    expect(await by('grid')).toEqual([
      ['330101001001001', 2, 1, 1],
      ['330101001001002', 1, 0, 0],
      ['330101002001001', 1, 0, 0],
    ]);
    expect(await by('type')).toEqual([
      ['illegal_parking', 3, 1, 1],
      ['street_vending', 1, 0, 0],
    ]);
    expect(await by('operator')).toEqual([
      ['', 2, 0, 0],
      ['lina', 1, 0, 1],
      ['zhangwei', 1, 1, 0],
    ]);
    const vending = await call('/stats/summary?groupBy=grid&type=street_vending', token);
    expect(vending.body.totals.raised).toBe(1);
    const north = await call('/stats/summary?groupBy=grid&gridCode=330101002', token);
    expect(north.body.rows.map((x: { key: string }) => x.key)).toEqual(['330101002001001']);
  });

  it('keeps each operator to their scope even when the service answers city-wide', async () => {
    const wq = await login('wangqiang');
    const r = await call('/stats/summary', wq.token);
    expect(r.body.rows).toHaveLength(1);
    expect(r.body.rows[0]).toMatchObject({ key: '330102', raised: 1, rejected: 1, falseDetections: 0 });
    const admin = await login('admin');
    expect((await call('/stats/summary', admin.token)).body.totals.raised).toBe(5);
    const out = await call('/stats/summary?gridCode=330101', wq.token);
    expect(out).toMatchObject({ status: 403, body: { code: 'GW_FORBIDDEN' } });
  });

  it('gives every day of the range a row by day, zero where nothing was raised', async () => {
    const { token } = await login('zhangwei');
    const r = await call('/stats/summary?groupBy=day&period=7d', token);
    expect(r.body.rows).toHaveLength(7);
    // Keyed by the day each alert was raised (not "now": a run across midnight stays right).
    const expected = new Map<string, number>();
    for (const a of A) expected.set(dayOf(a.createdAt), (expected.get(dayOf(a.createdAt)) ?? 0) + 1);
    for (const row of r.body.rows as { key: string; raised: number }[])
      expect([row.key, row.raised]).toEqual([row.key, expected.get(row.key) ?? 0]);
    expect(r.body.rows[6].key).toBe(r.body.toDay);
  });

  it('takes whole local days: a past range holds nothing, today holds everything', async () => {
    const { token } = await login('zhangwei');
    const past = await call('/stats/summary?from=2020-01-01&to=2020-01-31', token);
    expect(past.status).toBe(200);
    expect(past.body.totals.raised).toBe(0);
    expect(past.body.from).toBe(Date.parse('2019-12-31T16:00:00Z'));
    expect(past.body.to).toBe(Date.parse('2020-01-31T16:00:00Z'));
    const first = dayOf(A[0]!.createdAt);
    const last = dayOf(A[3]!.createdAt);
    const r = await call(`/stats/summary?from=${first}&to=${last}`, token);
    expect(r.body.totals.raised).toBe(4);
  });

  it('answers bad input with 400 naming the field, 401 without a session', async () => {
    const { token } = await login('zhangwei');
    const cases: Array<[string, string]> = [
      ['period=1y', 'period'],
      ['groupBy=street', 'groupBy'],
      ['from=2026-13-01', 'from'],
      ['from=2026-02-30', 'from'],
      ['to=2026-01-01', 'to'],
      ['from=2026-02-01&to=2026-01-01', 'to'],
      ['from=2020-01-01&to=2026-01-01', 'to'],
      ['type=Bad!', 'type'],
      ['slaHours=0', 'slaHours'],
      ['gridCode=33-01', 'gridCode'],
      ['limit=5', 'limit'],
    ];
    for (const [qs, field] of cases) {
      for (const path of ['/stats/summary', '/stats/export']) {
        const r = await call(`${path}?${qs}`, token);
        expect({ qs, path, status: r.status, code: r.body.code }).toEqual({
          qs,
          path,
          status: 400,
          code: 'GW_VALIDATION',
        });
        expect(JSON.stringify(r.body)).toContain(field);
      }
    }
    expect((await call('/stats/summary')).status).toBe(401);
    expect((await call('/stats/export')).status).toBe(401);
  });
});

describe('GET /api/v1/stats/export', () => {
  it('is UTF-8 CSV with a BOM, zh-CN headers, one line per group and a totals line', async () => {
    const { token } = await login('zhangwei');
    const r = await call('/stats/export?groupBy=grid', token);
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/csv; charset=utf-8');
    const bytes = r.body as Buffer;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').split('\r\n');
    expect(lines[0]).toBe(
      '编码,名称,告警数,认领数,确认数,驳回数,误报数,驳回率(%),结案数,认领用时中位数(分钟),确认用时中位数(分钟),结案用时中位数(分钟),逾期未结',
    );
    expect(lines[1]).toMatch(/^330101001001001,东风社区第一网格,2,1,1,1,1,50\.0,0,/);
    expect(lines[4]).toMatch(/^合计,,4,2,1,1,1,50\.0,0,/);
    expect(lines[5]).toBe('');
  });
});

describe('the figures (stats-aggregate.ts) on the real timelines', () => {
  it('counts open alerts older than the SLA as overdue, and closing times', async () => {
    // The dispatcher's own read, as the route calls it: real alerts and audits from redis.
    const { items } = await h.alerts.timelines({ scope: '330101', from: 0, to: Date.now() + 1, limit: 100 });
    expect(items).toHaveLength(4);
    const latest = Math.max(...items.map((t) => t.alert.createdAt));
    const o = { groupBy: 'county' as const, openStates: open, grids: h.grids, timeZone: 'Asia/Shanghai' };
    const at = (hours: number) =>
      aggregateStats(items, { ...o, now: latest + hours * 3_600_000, slaMs: 24 * 3_600_000 });
    expect(at(1).totals.overdue).toBe(0);
    // A0 confirmed (still open, waiting for the platform), A2 claimed, A3 new: A1 is rejected.
    expect(at(25).totals.overdue).toBe(3);
    // A case closed two hours after it was raised (what a platform callback would record).
    const a0 = items.find((t) => t.alert.id === A[0]!.id)!;
    const closed: AlertTimeline = {
      ...a0,
      alert: { ...a0.alert, state: 'closed' },
      closedAt: a0.alert.createdAt + 7_200_000,
    };
    const withClosed = aggregateStats([...items.filter((t) => t !== a0), closed], {
      ...o,
      now: latest + 25 * 3_600_000,
      slaMs: 24 * 3_600_000,
    });
    expect(withClosed.totals).toMatchObject({
      closed: 1,
      medianCloseMs: 7_200_000,
      overdue: 2,
      confirmed: 1,
    });
  });

  it('medians, CSV fields and day boundaries', () => {
    expect(median([])).toBeNull();
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('东城区')).toBe('东城区');
    expect(dayStart('2026-12-01', 'Asia/Shanghai')).toBe(Date.parse('2026-11-30T16:00:00Z'));
    expect(dayStart('2026-07-01', 'Europe/Berlin')).toBe(Date.parse('2026-06-30T22:00:00Z'));
    const r = statsRange({ period: '7d' }, Date.parse('2026-12-01T17:00:00Z'), 'Asia/Shanghai');
    expect(r).toMatchObject({ fromDay: '2026-11-26', toDay: '2026-12-02' });
    const empty = statsCsv(
      [],
      aggregateStats([], {
        groupBy: 'day',
        now: 0,
        slaMs: 1,
        openStates: open,
        grids: h.grids,
        timeZone: 'UTC',
      }).totals,
    );
    expect(empty.startsWith('\uFEFF编码,')).toBe(true);
  });
});
