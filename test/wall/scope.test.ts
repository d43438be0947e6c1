import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor, AlertService } from '../../core/contracts/alert-service.js';
import type { CameraStatus } from '../../core/contracts/camera-directory.js';
import { inScope, scopeGrids } from '../../core/grid/scope.js';
import { startHarness, type Harness } from './helpers/wall-harness.js';
import { connected, until, wallClient, type WallClient } from './helpers/socket-client.js';

/**
 * One test per entry point of the scope rule (core/grid/scope.ts). The wall is given an
 * AlertService whose own scope check is broken (it answers as if every actor were city-wide),
 * so each wall-side check is the only thing between an operator of 江南区 (330102) and an alert
 * of 东城区 (330101): removing any one of them makes its test fail.
 */
const CITY = '3301';
const leaky = (real: AlertService): AlertService => {
  const wide = (a: Actor): Actor => ({ ...a, scope: CITY });
  return {
    ...real,
    get: (id, actor) => real.get(id, wide(actor)),
    audit: (id, actor) => real.audit(id, wide(actor)),
    list: (q) => real.list({ ...q, scope: CITY }),
    act: (id, act, actor, version) => real.act(id, act, wide(actor), version),
  };
};

let h: Harness;
let alertA: Alert; // 东城区 › 东风街道 (cam-df-01)
let alertB: Alert; // 江南区 (cam-bj-01)
const clients: WallClient[] = [];

async function api(path: string, token: string, init: RequestInit = {}) {
  const res = await fetch(`${h.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
  });
  const type = res.headers.get('content-type') ?? '';
  const json = type.includes('json') ? ((await res.json()) as Record<string, unknown>) : null;
  if (!json) await res.body?.cancel();
  return { status: res.status, json };
}

async function socketOf(username: string): Promise<WallClient> {
  const c = wallClient(h.url, (await h.login(username)).token);
  clients.push(c);
  await connected(c);
  return c;
}

async function stateNow(id: string): Promise<Alert> {
  const admin = await h.login('admin');
  return (await api(`/api/v1/alerts/${id}`, admin.token)).json?.alert as Alert;
}

beforeAll(async () => {
  h = await startHarness({ wrapAlerts: leaky, logLevel: 'warn' });
  alertA = await h.inject({ cameraId: 'cam-df-01' });
  alertB = await h.inject({ cameraId: 'cam-bj-01', type: 'street_vending' });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await h?.close();
});

describe('the rule (core/grid/scope.ts)', () => {
  it('counts the stored path and the live index; admins add only unplaced targets', () => {
    const g = h.grids;
    const op = { role: 'operator', scope: '330101' } as const;
    const countyAdmin = { role: 'admin', scope: '330102' } as const;
    expect(inScope(op, { gridCode: '330101001001001' }, g)).toBe(true);
    expect(inScope(op, { gridCode: '330102001001001' }, g)).toBe(false);
    // A grid the live index no longer knows, but the alert's stored path does.
    expect(inScope(op, { gridCode: '330101999', gridPath: [{ code: '3301' }, { code: '330101' }] }, g)).toBe(
      true,
    );
    // The admin role does not widen the grid tree...
    expect(inScope(countyAdmin, { gridCode: '330101001001001' }, g)).toBe(false);
    // ...it adds what is in no grid, which only admins can fix.
    expect(inScope(countyAdmin, { gridCode: null }, g)).toBe(true);
    expect(inScope(countyAdmin, { gridCode: '999999' }, g)).toBe(true);
    expect(inScope(op, { gridCode: null }, g)).toBe(false);
    expect(scopeGrids({ gridCode: '330101001' }, g)).toEqual(['3301', '330101', '330101001']);
  });
});

describe('HTTP', () => {
  it('GET /alerts/:id: another county’s alert reads as not found', async () => {
    const b = await h.login('wangqiang');
    const r = await api(`/api/v1/alerts/${alertA.id}`, b.token);
    expect(r.status).toBe(404);
    expect(r.json?.code).toBe('GW_NOT_FOUND');
    expect((await api(`/api/v1/alerts/${alertB.id}`, b.token)).status).toBe(200);
  });

  it('GET /alerts: the list holds only alerts in scope', async () => {
    const b = await h.login('wangqiang');
    const items = (await api('/api/v1/alerts', b.token)).json?.items as Alert[];
    expect(items.map((a) => a.id)).toContain(alertB.id);
    expect(items.map((a) => a.id)).not.toContain(alertA.id);
    const other = await api('/api/v1/alerts?gridCode=330101', b.token);
    expect(other.status).toBe(403);
  });

  it('POST /alerts/:id/actions: refused and nothing changes', async () => {
    const b = await h.login('wangqiang');
    const r = await api(`/api/v1/alerts/${alertA.id}/actions`, b.token, {
      method: 'POST',
      body: JSON.stringify({ action: 'claim', version: alertA.version }),
    });
    expect(r.status).toBe(404);
    expect((await stateNow(alertA.id)).state).toBe('new');
  });

  it('GET /alerts/:id/evidence/:which: refused', async () => {
    const b = await h.login('wangqiang');
    const r = await api(`/api/v1/alerts/${alertA.id}/evidence/latest`, b.token);
    expect(r.status).toBe(404);
    expect(r.json?.code).toBe('GW_NOT_FOUND');
    const own = await fetch(`${h.url}/api/v1/alerts/${alertB.id}/evidence/latest`, {
      headers: { authorization: `Bearer ${b.token}` },
    });
    expect(own.status).toBe(200);
    await own.body?.cancel();
  });

  it('GET /media/live/<camera>.flv (live proxy): refused before the media server is asked', async () => {
    const b = await h.login('wangqiang');
    const r = await api('/media/live/cam-df-01.flv', b.token);
    expect(r.status).toBe(403);
    expect(r.json?.code).toBe('GW_FORBIDDEN');
    // In scope the proxy goes on to the media server (not started here: its own answer).
    const own = await api('/media/live/cam-bj-01.flv', b.token);
    expect(own.json?.code).not.toBe('GW_FORBIDDEN');
  });
});

describe('Socket.IO', () => {
  it('alert:act: refused and nothing changes', async () => {
    const wq = await socketOf('wangqiang');
    const r = await wq.emitWithAck('alert:act', {
      id: alertA.id,
      act: { action: 'claim' },
      version: alertA.version,
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'GW_NOT_FOUND' } });
    expect((await stateNow(alertA.id)).state).toBe('new');
  });

  it('alerts:sync: the catch-up holds only alerts in scope', async () => {
    const wq = await socketOf('wangqiang');
    const r = await wq.emitWithAck('alerts:sync', { since: 0, limit: 200 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const ids = r.data.items.map((a) => a.id);
    expect(ids).toContain(alertB.id);
    expect(ids).not.toContain(alertA.id);
  });

  it('wall:focus: a grid outside the scope is refused and no room is joined', async () => {
    const wq = await socketOf('wangqiang');
    const r = await wq.emitWithAck('wall:focus', { gridCode: '330101001' });
    expect(r).toMatchObject({ ok: false, error: { code: 'GW_FORBIDDEN' } });
    const ok = await wq.emitWithAck('wall:focus', { gridCode: null });
    expect(ok).toEqual({ ok: true, data: { rooms: ['grid:330102'] } });
  });

  it('camera:state reaches every ancestor grid in scope, and no other county or township', async () => {
    const states = new Map<string, CameraStatus[]>();
    const watch = async (n: string) => {
      const c = await socketOf(n);
      states.set(n, []);
      c.on('camera:state', (s) => states.get(n)!.push(s));
    };
    for (const n of ['zhangwei', 'beishan', 'wangqiang', 'admin']) await watch(n);
    const seen = (n: string, cam: string) => states.get(n)!.some((s) => s.id === cam);
    // A changed sampling interval restarts the camera's pipeline: it reports state again.
    const bump = (ids: string[]) =>
      h.ingest.update(
        h.cameraList.map((c) =>
          ids.includes(c.id) ? { ...c, samplingIntervalSec: c.samplingIntervalSec + 1 } : c,
        ),
      );
    bump(['cam-df-02']); // 东城区 › 东风街道 › …
    await until(() => seen('zhangwei', 'cam-df-02') && seen('admin', 'cam-df-02'), 'county and city');
    // Then one for 江南区: once wangqiang has it, anything sent to him before has arrived too.
    bump(['cam-df-02', 'cam-bj-01']);
    await until(() => seen('wangqiang', 'cam-bj-01'), 'cam-bj-01 state at 江南区');
    expect(seen('wangqiang', 'cam-df-02')).toBe(false);
    // 北山街道 is a sibling township of 东风街道: not an ancestor.
    expect(seen('beishan', 'cam-df-02')).toBe(false);
    expect(seen('zhangwei', 'cam-bj-01')).toBe(false);
  });
});
