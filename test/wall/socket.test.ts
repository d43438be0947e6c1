import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertLifecycleTable } from '../../app/alert-lifecycle-table.js';
import { createWall } from '../../features/wall/create-wall.js';
import { createLogger } from '../../core/logger.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { hashPassword } from '../../features/wall/password-hash.js';
import { PASSWORD, startHarness, TYPE_INFOS, type Harness } from './helpers/wall-harness.js';
import { connected, refused, until, wallClient, type WallClient } from './helpers/socket-client.js';

let h: Harness;
const clients: WallClient[] = [];
const client = (...args: Parameters<typeof wallClient>): WallClient => {
  const c = wallClient(...args);
  clients.push(c);
  return c;
};

function forgeToken(expiresAt: number): string {
  const key = Buffer.from(readFileSync(join(h.dataDir, 'wall-session.key'), 'utf8').trim(), 'base64url');
  const body = `v1.${randomBytes(18).toString('base64url')}.${expiresAt}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await h?.close();
});

describe('handshake', () => {
  it('refuses a missing, forged, expired, or logged-out session', async () => {
    const admin = await h.login('admin');
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'login required'],
      ['v1.x.1.y', 'invalid session token'],
      [forgeToken(Date.now() - 1), 'session expired'],
      [forgeToken(Date.now() + 60_000), 'session ended'],
      [`${admin.token.slice(0, -3)}abc`, 'invalid session token'],
    ];
    for (const [token, message] of cases) {
      const e = await refused(client(h.url, token));
      expect(e.message).toBe(message);
      expect(e.data?.code).toBe('GW_UNAUTHORIZED');
    }
  });

  it('refuses a cookie session from a foreign origin and an unknown protocol version', async () => {
    const s = await h.login('zhangwei');
    const e = await refused(
      client(h.url, undefined, { headers: { cookie: s.cookie, origin: 'http://evil.example' } }),
    );
    expect(e.data?.code).toBe('GW_FORBIDDEN');
    const own = client(h.url, undefined, { headers: { cookie: s.cookie, origin: h.url } });
    await connected(own);
    own.disconnect();
    const v = await refused(client(h.url, s.token, { protocol: 99 }));
    expect(v.data?.code).toBe('GW_PROTOCOL');
  });
});

describe('rooms by grid', () => {
  it('sends an alert to its grid and every ancestor, never to another county or township', async () => {
    const names = ['zhangwei', 'lina', 'wangqiang', 'beishan', 'admin', 'zhaomin'] as const;
    const c: Record<string, WallClient> = {};
    for (const n of names) {
      c[n] = client(h.url, (await h.login(n)).token);
      await connected(c[n]!);
    }
    const east = await h.inject({ cameraId: 'cam-df-01' }); // 东城区 › 东风街道
    const north = await h.inject({ cameraId: 'cam-bs-01', type: 'crowd_gathering' }); // 东城区 › 北山街道
    const south = await h.inject({ cameraId: 'cam-bj-01', type: 'street_vending' }); // 江南区
    const seen = (n: string) => c[n]!.received.map((a) => a.id);
    await until(
      () =>
        seen('admin').length >= 3 &&
        seen('zhangwei').length >= 2 &&
        seen('wangqiang').length >= 1 &&
        seen('beishan').length >= 1,
      'deliveries',
    );
    // A moment more, so a wrongly routed copy would have arrived too.
    await new Promise((r) => setTimeout(r, 300));
    expect(new Set(seen('admin'))).toEqual(new Set([east.id, north.id, south.id]));
    expect(new Set(seen('zhangwei'))).toEqual(new Set([east.id, north.id]));
    expect(new Set(seen('lina'))).toEqual(new Set([east.id, north.id]));
    expect(new Set(seen('zhaomin'))).toEqual(new Set([east.id, north.id]));
    expect(seen('wangqiang')).toEqual([south.id]);
    expect(seen('beishan')).toEqual([north.id]);
  });

  it('wall:focus narrows the feed inside the scope and refuses grids outside it', async () => {
    const s = client(h.url, (await h.login('zhangwei')).token);
    await connected(s);
    const bad = await s.emitWithAck('wall:focus', { gridCode: '330102' });
    expect(bad).toEqual({
      ok: false,
      error: { code: 'GW_FORBIDDEN', message: 'grid 330102 is outside your scope' },
    });
    const ok = await s.emitWithAck('wall:focus', { gridCode: '330101002' });
    expect(ok).toEqual({ ok: true, data: { rooms: ['grid:330101002'] } });
    const east = await h.inject({ cameraId: 'cam-df-01' });
    const north = await h.inject({ cameraId: 'cam-bs-01' });
    await until(() => s.received.some((a) => a.id === north.id), 'north alert');
    await new Promise((r) => setTimeout(r, 200));
    expect(s.received.map((a) => a.id)).not.toContain(east.id);
    const malformed = await s.emitWithAck('wall:focus', { gridCode: '33' } as never);
    expect(malformed.ok).toBe(false);
    if (!malformed.ok) expect(malformed.error).toMatchObject({ code: 'GW_VALIDATION', field: 'gridCode' });
  });
});

describe('alert:act', () => {
  it('validates payloads, names the field, and changes nothing', async () => {
    const a = await h.inject({ cameraId: 'cam-df-02' });
    const s = client(h.url, (await h.login('zhangwei')).token);
    await connected(s);
    const bad: Array<[unknown, string]> = [
      [{ id: a.id, act: { action: 'reject' }, version: a.version }, 'act.reason'],
      [{ id: a.id, act: { action: 'reject', reason: 'bored' }, version: a.version }, 'act.reason'],
      [{ id: a.id, version: a.version }, 'act'],
      [{ act: { action: 'claim' }, version: a.version }, 'id'],
      [{ id: a.id, act: { action: 'claim' } }, 'version'],
      [{ id: a.id, act: { action: 'claim' }, version: -1 }, 'version'],
      [{ id: a.id, act: { action: 'claim' }, version: a.version, sudo: true }, ''],
      ['claim', ''],
      [null, ''],
    ];
    for (const [payload, field] of bad) {
      const r = await s.emitWithAck('alert:act', payload as never);
      expect(r.ok, JSON.stringify(payload)).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('GW_VALIDATION');
        expect(r.error.message).toContain('socket event alert:act');
        if (field) expect(r.error.field).toBe(field);
      }
    }
    const admin = await h.login('admin');
    const res = await fetch(`${h.url}/api/v1/alerts/${a.id}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    const now = ((await res.json()) as { alert: { version: number; state: string } }).alert;
    expect(now.state).toBe('new');
    expect(now.version).toBe(a.version);
  });

  it('refuses out-of-scope alerts and viewers; claim reaches the other walls of the county', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01' });
    const zw = client(h.url, (await h.login('zhangwei')).token);
    const ln = client(h.url, (await h.login('lina')).token);
    const wq = client(h.url, (await h.login('wangqiang')).token);
    const vw = client(h.url, (await h.login('zhaomin')).token);
    await Promise.all([zw, ln, wq, vw].map(connected));
    const foreign = await wq.emitWithAck('alert:act', {
      id: a.id,
      act: { action: 'claim' },
      version: a.version,
    });
    expect(foreign.ok).toBe(false);
    if (!foreign.ok) expect(['GW_NOT_FOUND', 'GW_FORBIDDEN']).toContain(foreign.error.code);
    const viewer = await vw.emitWithAck('alert:act', {
      id: a.id,
      act: { action: 'claim' },
      version: a.version,
    });
    expect(viewer).toMatchObject({ ok: false, error: { code: 'GW_FORBIDDEN' } });
    const claimed = await zw.emitWithAck('alert:act', {
      id: a.id,
      act: { action: 'claim' },
      version: a.version,
    });
    expect(claimed).toMatchObject({
      ok: true,
      data: { state: 'claimed', claimedBy: { displayName: '张伟' } },
    });
    await until(() => ln.received.some((x) => x.id === a.id && x.state === 'claimed'), 'claim at lina');
    // Lina acts at the version she was sent (the claim): refused because 张伟 holds it.
    const seen = ln.received.find((x) => x.id === a.id && x.state === 'claimed')!;
    const race = await ln.emitWithAck('alert:act', {
      id: a.id,
      act: { action: 'confirm' },
      version: seen.version,
    });
    expect(race).toMatchObject({ ok: false, error: { code: 'GW_CONFLICT' } });
    if (!race.ok) expect(race.error.message).toContain('张伟');
    await new Promise((r) => setTimeout(r, 200));
    expect(wq.received.map((x) => x.id)).not.toContain(a.id);
  });
});

describe('reconnect', () => {
  it('a dropped wall recovers the alerts it missed (connection state recovery)', async () => {
    const s = client(h.url, (await h.login('lina')).token);
    await connected(s);
    const first = await h.inject({ cameraId: 'cam-df-01' });
    await until(() => s.received.some((a) => a.id === first.id), 'first alert');
    s.io.engine.close(); // the network drops; the client reconnects by itself
    await until(() => !s.connected, 'drop');
    const missed = await h.inject({ cameraId: 'cam-df-02' });
    await until(() => s.hello.length >= 2, 'reconnect', 15_000);
    expect(s.hello.at(-1)?.recovered).toBe(true);
    await until(() => s.received.some((a) => a.id === missed.id), 'missed alert');
  });

  it('a wall that cannot recover catches up with alerts:sync', async () => {
    const token = (await h.login('lina')).token;
    const s1 = client(h.url, token);
    await connected(s1);
    const before = await h.inject({ cameraId: 'cam-df-01' });
    await until(() => s1.received.some((a) => a.id === before.id), 'before');
    const since = Math.max(...s1.received.map((a) => a.updatedAt));
    s1.disconnect(); // a closed tab: no recovery
    const missed = await h.inject({ cameraId: 'cam-df-02' });
    const other = await h.inject({ cameraId: 'cam-bj-01' });
    const s2 = client(h.url, token);
    await connected(s2);
    expect(s2.hello[0]?.recovered).toBe(false);
    const r = await s2.emitWithAck('alerts:sync', { since, limit: 200 });
    expect(r.ok).toBe(true);
    if (r.ok) {
      const ids = r.data.items.map((a) => a.id);
      expect(ids).toContain(missed.id);
      expect(ids).not.toContain(before.id);
      expect(ids).not.toContain(other.id);
    }
    const bad = await s2.emitWithAck('alerts:sync', { since: -5 } as never);
    expect(bad).toMatchObject({ ok: false, error: { code: 'GW_VALIDATION', field: 'since' } });
  });
});

describe('session end', () => {
  it('logout disconnects the session’s sockets and they cannot come back', async () => {
    const s = await h.login('zhangwei');
    const c = client(h.url, s.token);
    await connected(c);
    const res = await fetch(`${h.url}/api/v1/session`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${s.token}` },
    });
    expect(res.status).toBe(200);
    await until(() => c.ended.includes('logout') && !c.connected, 'session end');
    const again = await refused(client(h.url, s.token));
    expect(again.message).toBe('session ended');
  });
});

describe('session expiry', () => {
  it('a session that expires while connected is ended and its events refused', async () => {
    const { index } = await import('../../core/grid/grid-index.js').then((m) =>
      m.loadGridFile(new URL('./fixtures/grids.geojson', import.meta.url).pathname),
    );
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'gw-wall-exp-'));
    const short = createWall({
      config: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { sessionTtlMin: 0.03, loginAttempts: 5, loginWindowSec: 300 }, // 1.8 s
        users: [
          {
            username: 'lina',
            displayName: '李娜',
            role: 'operator',
            scope: '330101',
            passwordHash: await hashPassword(PASSWORD),
          },
        ],
        timezone: 'Asia/Shanghai',
      },
      dataDir: dir,
      redisUrl: h.redisUrl,
      alerts: h.alerts,
      cameras: h.cameras,
      grids: () => index,
      evidence: { put: async () => '', read: async () => Buffer.alloc(0) },
      typeInfos: () => TYPE_INFOS,
      lifecycle: alertLifecycleTable(),
      health: { ready: async () => ({ ready: true, checks: {} }), details: async () => ({}) },
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      admin: { rejectedCameras: () => [], plugins: () => [] },
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const { url } = await short.start();
      const res = await fetch(`${url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'lina', password: PASSWORD }),
      });
      const { token } = (await res.json()) as { token: string };
      const c = client(url, token);
      await connected(c);
      expect((await c.emitWithAck('alerts:sync', { since: 0, limit: 1 })).ok).toBe(true);
      await until(() => c.ended.includes('expired'), 'expiry', 10_000);
      await until(() => !c.connected, 'disconnect');
      const again = await refused(client(url, token));
      expect(again.message).toBe('session expired');
      const api = await fetch(`${url}/api/v1/alerts`, { headers: { authorization: `Bearer ${token}` } });
      expect(api.status).toBe(401);
    } finally {
      await short.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('several gateway processes', () => {
  it('an alert notified by one gateway reaches walls connected to another (redis-streams adapter)', async () => {
    const { index } = await import('../../core/grid/grid-index.js').then((m) =>
      m.loadGridFile(new URL('./fixtures/grids.geojson', import.meta.url).pathname),
    );
    const second = createWall({
      config: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { sessionTtlMin: 60, loginAttempts: 5, loginWindowSec: 300 },
        users: [
          {
            username: 'lina',
            displayName: '李娜',
            role: 'operator',
            scope: '330101',
            passwordHash: await hashPassword(PASSWORD),
          },
        ],
        timezone: 'Asia/Shanghai',
      },
      dataDir: h.dataDir, // shares the session key, as gateways sharing a data volume or a configured secret do
      redisUrl: h.redisUrl,
      alerts: h.alerts,
      cameras: h.cameras,
      grids: () => index,
      evidence: { put: async () => '', read: async () => Buffer.alloc(0) },
      typeInfos: () => TYPE_INFOS,
      lifecycle: alertLifecycleTable(),
      health: { ready: async () => ({ ready: true, checks: {} }), details: async () => ({}) },
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      admin: { rejectedCameras: () => [], plugins: () => [] },
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const { url } = await second.start();
      const token = (await h.login('lina')).token; // session made on gateway 1, used on gateway 2
      const c = client(url, token);
      await connected(c);
      const a = await h.inject({ cameraId: 'cam-df-01' }); // relayed by gateway 1's notifier
      await until(() => c.received.some((x) => x.id === a.id), 'alert via gateway 2');
    } finally {
      await second.close();
    }
  });
});
