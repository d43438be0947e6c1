import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import type { AlertService } from '../../core/contracts/alert-service.js';
import { buildGridIndex } from '../../core/grid/grid-index.js';
import type { Pt } from '../../core/geo/geometry.js';
import { createMapShapes, simplifyRing, toleranceAt } from '../../features/wall/map-shapes.js';
import { startHarness, type Harness } from './helpers/wall-harness.js';

/**
 * The map API (features/wall/map-api.ts) against the real wall, dispatcher and ingest. The
 * AlertService the wall gets answers list() city-wide whatever the scope asked, so the wall's
 * own scope filter is the only thing keeping 江南区's markers off 东城区's map.
 */
const leaky = (real: AlertService): AlertService => ({
  ...real,
  list: (q) => real.list({ ...q, scope: '3301' }),
});

let h: Harness;
let east: Alert; // 东城区 (cam-df-01)
let south: Alert; // 江南区 (cam-bj-01)

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked field by field below
async function get(path: string, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${h.url}/api/v1${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const json = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
  return { status: res.status, json };
}

beforeAll(async () => {
  h = await startHarness({ wrapAlerts: leaky, logLevel: 'warn' });
  east = await h.inject({ cameraId: 'cam-df-01' });
  south = await h.inject({ cameraId: 'cam-bj-01', type: 'street_vending' });
});
afterAll(async () => {
  await h?.close();
});

describe('GET /api/v1/map/grids', () => {
  it('returns only the grids in the operator scope, with closed flat rings and the county', async () => {
    const zw = await h.login('zhangwei'); // 330101 东城区
    const r = await get('/map/grids?zoom=12', zw.token);
    expect(r.status).toBe(200);
    const codes = r.json.grids.map((g: { code: string }) => g.code);
    expect(codes).toEqual(['330101001001001', '330101001001002', '330101002001001']);
    const g = r.json.grids[0];
    expect(g).toMatchObject({ name: '东风社区第一网格', level: 'grid', county: '330101' });
    const ring = g.rings[0][0] as number[];
    expect(ring.slice(0, 2)).toEqual(ring.slice(-2));
    expect(ring).toEqual([120, 30, 120.05, 30, 120.05, 30.05, 120, 30.05, 120, 30]);

    const admin = await h.login('admin');
    const all = await get('/map/grids?zoom=12', admin.token);
    expect(all.json.grids).toHaveLength(4);
    const counties = await get('/map/grids?zoom=8&level=county', admin.token);
    expect(counties.json.grids.map((c: { name: string }) => c.name)).toEqual(['东城区', '江南区']);
  });

  it('answers bad input with 4xx naming the field, never 5xx', async () => {
    const zw = await h.login('zhangwei');
    const cases: Array<[string, number, string]> = [
      ['/map/grids', 400, 'zoom'],
      ['/map/grids?zoom=abc', 400, 'zoom'],
      ['/map/grids?zoom=99', 400, 'zoom'],
      ['/map/grids?zoom=3.5', 400, 'zoom'],
      ['/map/grids?zoom=10&level=city', 400, 'level'],
      ['/map/grids?zoom=10&bbox=1,2,3,4', 400, 'bbox'],
      ['/map/grids?zoom=10&gridCode=x1', 400, 'gridCode'],
      ['/map/alerts?limit=0', 400, 'limit'],
      ['/map/alerts?limit=9999999', 400, 'limit'],
    ];
    for (const [path, status, field] of cases) {
      const r = await get(path, zw.token);
      expect({ path, status: r.status, code: r.json?.code }).toEqual({ path, status, code: 'GW_VALIDATION' });
      expect(JSON.stringify(r.json)).toContain(field);
      expect(JSON.stringify(r.json)).not.toMatch(/\/work\/|at .*\.ts:\d+/);
    }
    const out = await get('/map/grids?zoom=10&gridCode=330102', zw.token);
    expect(out).toMatchObject({ status: 403, json: { code: 'GW_FORBIDDEN' } });
    const outAlerts = await get('/map/alerts?gridCode=330102', zw.token);
    expect(outAlerts.status).toBe(403);
    expect((await get('/map/grids?zoom=10')).status).toBe(401);
    expect((await get('/map/cameras')).status).toBe(401);
  });
});

describe('GET /api/v1/map/alerts and /map/cameras', () => {
  it('lists the open alerts of the scope only, even when the service answers city-wide', async () => {
    const zw = await h.login('zhangwei');
    const wq = await h.login('wangqiang'); // 330102 江南区
    const mine = await get('/map/alerts', zw.token);
    expect(mine.status).toBe(200);
    expect(mine.json.items.map((a: { id: string }) => a.id)).toEqual([east.id]);
    expect(mine.json.items[0]).toMatchObject({
      gridCode: '330101001001001',
      lon: east.location.lon,
      lat: east.location.lat,
      state: 'new',
    });
    const north = await get('/map/alerts?gridCode=330101002', zw.token);
    expect(north.json.items).toEqual([]);
    const theirs = await get('/map/alerts', wq.token);
    expect(theirs.json.items.map((a: { id: string }) => a.id)).toEqual([south.id]);
  });

  it('drops an alert once it is no longer open', async () => {
    const ln = await h.login('lina');
    const res = await fetch(`${h.url}/api/v1/alerts/${east.id}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ln.token}`, 'content-type': 'application/json' },
      // The version the operator saw: nothing has changed the alert since it was raised.
      body: JSON.stringify({ action: 'reject', reason: 'false_detection', version: east.version }),
    });
    expect(res.status).toBe(200);
    const zw = await h.login('zhangwei');
    expect((await get('/map/alerts', zw.token)).json.items).toEqual([]);
  });

  it('gives the cameras of the scope as points with their state', async () => {
    const zw = await h.login('zhangwei');
    const r = await get('/map/cameras', zw.token);
    expect(r.status).toBe(200);
    const byId = new Map(r.json.map((c: { id: string }) => [c.id, c]));
    expect([...byId.keys()].sort()).toEqual(['cam-bs-01', 'cam-df-01', 'cam-df-02']);
    expect(byId.get('cam-df-01')).toMatchObject({ lon: 120.02, lat: 30.02, gridCode: '330101001001001' });
  });
});

describe('simplification per zoom (map-shapes.ts)', () => {
  // A 2,000-vertex circle of 0.05° radius around (113, 23): a district boundary's detail.
  const circle: Pt[] = Array.from({ length: 2_000 }, (_, i) => {
    const a = (i / 2_000) * 2 * Math.PI;
    return [113 + 0.05 * Math.cos(a), 23 + 0.05 * Math.sin(a)] as Pt;
  });
  const ring: Pt[] = [...circle, circle[0]!];

  it('keeps fewer vertices the further out the zoom, each within a pixel of the original', () => {
    const sizes = [6, 10, 14, 17].map((z) => simplifyRing(ring, toleranceAt(z)).length);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeGreaterThan(sizes[i - 1]!);
    expect(sizes[0]!).toBeLessThan(40);
    expect(sizes[0]!).toBeGreaterThanOrEqual(4);
    for (const z of [6, 10, 14]) {
      const s = simplifyRing(ring, toleranceAt(z));
      expect(s[0]).toEqual(s[s.length - 1]);
      // Every dropped vertex lies within the tolerance of the simplified outline.
      const tol = toleranceAt(z);
      const dist = (p: Pt) => {
        let best = Infinity;
        for (let i = 0; i + 1 < s.length; i++) {
          const [ax, ay] = s[i]!;
          const [bx, by] = s[i + 1]!;
          const dx = bx - ax;
          const dy = by - ay;
          const t = Math.max(0, Math.min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / (dx * dx + dy * dy)));
          best = Math.min(best, Math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy));
        }
        return best;
      };
      expect(Math.max(...circle.map(dist))).toBeLessThanOrEqual(tol * 1.0001);
    }
  });

  it('serves the simplified shape per zoom and builds it afresh for a new index', () => {
    const make = (name: string) =>
      buildGridIndex([
        {
          info: { code: '4412', name: '市', level: 'city', parent: null, kind: 'basic' },
          polygons: [[ring]],
        },
        {
          info: { code: '441202', name, level: 'county', parent: '4412', kind: 'basic' },
          polygons: [[ring]],
        },
      ]);
    const shapes = createMapShapes();
    const a = make('端州区');
    const far = shapes.grids(a, '4412', 'county', 6)[0]!;
    const near = shapes.grids(a, '4412', 'county', 17)[0]!;
    expect(far.rings[0]![0]!.length).toBeLessThan(near.rings[0]![0]!.length / 10);
    // Clamped: zoom 2 is served as zoom 5, the same cached list.
    expect(shapes.grids(a, '4412', 'county', 2)).toBe(shapes.grids(a, '4412', 'county', 5));
    const b = make('鼎湖区');
    expect(shapes.grids(b, '4412', 'county', 6)[0]!.name).toBe('鼎湖区');
  });
});
