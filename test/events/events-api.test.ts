import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type Gateway } from '../../app/build-gateway.js';
import type { Actor } from '../../core/contracts/alert-service.js';
import type { Alert } from '../../core/contracts/alert.js';
import { toWgs84 } from '../../core/geo/crs.js';
import { Codes } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { EVENT_HEADERS, eventSignature } from '../../features/events/create-events.js';
import { hashPassword } from '../../features/wall/password-hash.js';
import { startTestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { launchChromium, openWall } from '../wall/helpers/browser.js';
import { connected, until, wallClient } from '../wall/helpers/socket-client.js';
import { GRID_FILE, logSink, PASSWORD } from '../wall/helpers/wall-harness.js';

/**
 * The events API over real HTTP against a gateway (wall + dispatch roles) on a real Redis:
 * signed and keyed sources, every refusal with its catalogue code and field, duplicates,
 * photos as EXIF-free evidence, reports merging into a camera alert nearby, hot reload.
 */
const HMAC = 'citizen-app-secret-4c1d9e';
const KEY = 'parking-platform-key-77a2';
const ADMIN: Actor = { username: 'admin', displayName: '管理员', role: 'admin', scope: '3301' };
// Inside grid 330101001001001 (the camera's), per test/wall/fixtures/grids.geojson.
const CAM = { lon: 120.02, lat: 30.02 };

let root: string;
let redis: Awaited<ReturnType<typeof startTestRedis>>;
let gw: Gateway;
let url: string;
const { stream, sink } = logSink();
const lines = sink.lines;
let photo: Buffer;
/** The camera alert a report was merged into (by the merge test), for the contact test. */
let mergedCam: { id: string; eventId: string } | null = null;

async function tokenOf(username: string): Promise<string> {
  const r = await fetch(`${url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  return ((await r.json()) as { token: string }).token;
}

const sourcesYaml = (extra = '') => `sources:
  - id: citizen-app
    name: 随手拍小程序
    auth: { type: hmac, secret: { file: secrets/citizen.key } }
    ratePerMin: 1000
    scope: ['330101']
    kinds: [report]
  - id: parking
    name: 智慧停车平台
    auth: { type: apiKey, key: { file: secrets/parking.key } }
    scope: ['3301']
    kinds: [parking_overstay, air_quality]
  - id: slow
    name: 限流测试
    auth: { type: hmac, secret: { file: secrets/citizen.key } }
    ratePerMin: 3
    scope: ['3301']
    kinds: [air_quality]
${extra}`;

function signed(source: string, body: string | Buffer, contentType = 'application/json', secret = HMAC) {
  const ts = Math.floor(Date.now() / 1000);
  return {
    [EVENT_HEADERS.source]: source,
    [EVENT_HEADERS.timestamp]: String(ts),
    [EVENT_HEADERS.signature]: eventSignature(secret, ts, body),
    'content-type': contentType,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- reply bodies are read loosely in asserts
type Loose = Record<string, any>;

async function post(kind: string, body: unknown, headers?: Record<string, string>) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const r = await fetch(`${url}/api/v1/events/${kind}`, {
    method: 'POST',
    headers: headers ?? signed('citizen-app', text),
    body: text,
  });
  const raw = await r.text();
  return {
    status: r.status,
    raw,
    json: JSON.parse(raw) as Loose,
    headers: r.headers,
  };
}

let n = 0;
const report = (over: Record<string, unknown> = {}) => ({
  version: 1,
  eventId: `r-${Date.now()}-${++n}`,
  type: 'road_obstruction',
  text: '人行道上堆放建筑垃圾',
  location: { lon: 120.021, lat: 30.021, crs: 'WGS84' },
  photos: [{ data: photo.toString('base64'), name: 'IMG_0001.jpg' }],
  reporter: { role: 'citizen', name: '王女士', phone: '13800138000' },
  ...over,
});

const alertFor = (eventId: string) =>
  waitFor(`alert of ${eventId}`, async () => {
    const page = await gw.dispatcher.alerts.list({ scope: '3301', limit: 200 });
    return page.items.find((a) => a.source?.eventId === eventId);
  });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'gw-events-'));
  redis = await startTestRedis();
  mkdirSync(join(root, 'cameras'));
  mkdirSync(join(root, 'secrets'));
  writeFileSync(join(root, 'secrets', 'citizen.key'), HMAC);
  writeFileSync(join(root, 'secrets', 'parking.key'), KEY);
  writeFileSync(join(root, 'sources.yaml'), sourcesYaml());
  writeFileSync(
    join(root, 'cameras', 'cams.yaml'),
    `cameras:
  - id: cam-ev
    name: 东风路口
    source: { kind: rtsp, url: 'rtsp://127.0.0.1:9/x' }
    location: { lon: ${CAM.lon}, lat: ${CAM.lat}, crs: WGS84 }
    gridCode: '330101001001001'
    detectors: []
`,
  );
  const hash = await hashPassword(PASSWORD);
  writeFileSync(
    join(root, 'gateway.yaml'),
    `http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ngrids: { file: ${JSON.stringify(GRID_FILE)} }\n` +
      `users:\n  - { username: admin, displayName: 管理员, role: admin, scope: '3301', passwordHash: '${hash}' }\n` +
      // For reporter contacts: a township supervisor, the grid's own operator, a viewer, another county.
      `  - { username: zhen, displayName: 街道值班, role: operator, scope: '330101001', passwordHash: '${hash}' }\n` +
      `  - { username: gridop, displayName: 网格员, role: operator, scope: '330101001001001', passwordHash: '${hash}' }\n` +
      `  - { username: viewer, displayName: 观察员, role: viewer, scope: '3301', passwordHash: '${hash}' }\n` +
      `  - { username: away, displayName: 西城, role: operator, scope: '330102', passwordHash: '${hash}' }\n` +
      `events: { sourcesFile: ./sources.yaml, photoMaxBytes: 200000, merge: { distanceM: 200, windowSec: 600 } }\n`,
  );
  // A real JPEG carrying EXIF (camera make, GPS position): what a phone uploads.
  photo = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#7a6' } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'PhoneCo', Model: 'X1', Copyright: 'reporter' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '30/1 1/1 12/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '120/1 1/1 12/1',
      },
    })
    .toBuffer();
  gw = await buildGateway({
    config: join(root, 'gateway.yaml'),
    roles: ['wall', 'dispatch'],
    redisUrl: redis.url,
    logger: createLogger({ level: 'info', destination: stream }),
  });
  url = gw.url!;
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await redis?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('events API: a citizen report', () => {
  it('becomes an alert in its grid with its source; the photo is evidence without EXIF; the contact stays private', async () => {
    expect((await sharp(photo).metadata()).exif).toBeDefined();
    const body = report();
    const r = await post('report', body);
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ ok: true, duplicate: false, source: 'citizen-app', mergedInto: null });
    const a = await alertFor(body.eventId);
    expect(a.type).toBe('road_obstruction');
    expect(a.gridCode).toBe('330101001001001');
    expect(a.routedBy).toBe('location');
    expect(a.source).toMatchObject({
      id: 'citizen-app',
      kind: 'citizen',
      name: '随手拍小程序',
      summary: body.text,
    });
    expect(a.cameraName).toBe('随手拍小程序');
    const stored = await readFile(join(root, 'var', 'evidence', a.evidence.first!));
    const meta = await sharp(stored).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.exif).toBeUndefined();
    expect(stored.includes(Buffer.from('PhoneCo'))).toBe(false);
    // The reporter's contact: in no reply, alert, audit entry or wall API answer.
    const login = await fetch(`${url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    });
    const { token } = (await login.json()) as { token: string };
    const wall = await (
      await fetch(`${url}/api/v1/alerts/${a.id}`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    const audit = JSON.stringify(await gw.dispatcher.alerts.audit(a.id, ADMIN));
    for (const text of [r.raw, JSON.stringify(a), audit, wall]) {
      expect(text).not.toContain('13800138000');
      expect(text).not.toContain('王女士');
    }
    expect(wall).toContain('随手拍小程序');
  });

  it('the same (source, eventId) again is answered as a duplicate: one alert, no second photo', async () => {
    const body = report();
    expect((await post('report', body)).status).toBe(202);
    const a = await alertFor(body.eventId);
    const day = a.evidence.first!.split('/')[0]!;
    const files = readdirSync(join(root, 'var', 'evidence', day)).length;
    const again = await post('report', { ...body, text: '再次提交' });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({
      ok: true,
      duplicate: true,
      findingId: (await post('report', body)).json.findingId,
    });
    expect(readdirSync(join(root, 'var', 'evidence', day)).length).toBe(files);
    const page = await gw.dispatcher.alerts.list({ scope: '3301', limit: 500 });
    expect(page.items.filter((x) => x.source?.eventId === body.eventId)).toHaveLength(1);
  });

  it('a damaged idempotency record still answers the repeat as a duplicate (not a 500), and says so in the log', async () => {
    const body = report();
    const first = await post('report', body);
    expect(first.status).toBe(202);
    const c = new Redis(redis.url);
    try {
      const keys = await c.keys('*events:id:citizen-app:*');
      const mine: string[] = [];
      for (const k of keys) if ((await c.get(k))?.includes(first.json.findingId as string)) mine.push(k);
      expect(mine).toHaveLength(1);
      await c.set(mine[0]!, '{"findingId": ', 'KEEPTTL');
    } finally {
      c.disconnect();
    }
    const again = await post('report', body);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ ok: true, duplicate: true, findingId: first.json.findingId });
    expect(lines.some((l) => l.includes('stored idempotency record is damaged'))).toBe(true);
  });

  it('a GCJ-02 location is converted to WGS-84 before routing', async () => {
    const gcj = { lon: 120.025, lat: 30.018 };
    const body = report({ location: { ...gcj, crs: 'GCJ02' } });
    expect((await post('report', body)).status).toBe(202);
    const a = await alertFor(body.eventId);
    const want = toWgs84(gcj.lon, gcj.lat, 'GCJ02');
    expect(a.location.lon).toBeCloseTo(want.lon, 6);
    expect(a.location.lat).toBeCloseTo(want.lat, 6);
    expect(Math.abs(a.location.lon - gcj.lon)).toBeGreaterThan(0.003);
  });

  it('multipart: an event part with the JSON and photo file parts', async () => {
    const { photos: _p, ...ev } = report();
    const boundary = 'gwBoundary7f3a';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="event"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(ev)}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      ),
      photo,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const type = `multipart/form-data; boundary=${boundary}`;
    const r = await fetch(`${url}/api/v1/events/report`, {
      method: 'POST',
      headers: signed('citizen-app', body, type),
      body,
    });
    expect(r.status).toBe(202);
    const a = await alertFor(ev.eventId);
    expect(a.evidence.first).toMatch(/^\d{4}-\d{2}-\d{2}\/ev_citizen-app_[0-9a-f]+_1\.jpg$/);
  });
});

describe('events API: refusals, each with its catalogue code and field', () => {
  it('bad signature, unknown source, stale timestamp: 401', async () => {
    const text = JSON.stringify(report());
    const bad = await post('report', text, signed('citizen-app', text, 'application/json', 'wrong-secret'));
    expect(bad.status).toBe(401);
    expect(bad.json.error.code).toBe(Codes.GW_UNAUTHORIZED);
    expect(bad.json.error.message).toContain('bad signature');
    expect((await post('report', text, signed('nobody', text))).status).toBe(401);
    const old = {
      ...signed('citizen-app', text),
      [EVENT_HEADERS.timestamp]: String(Math.floor(Date.now() / 1000) - 3600),
    };
    const stale = await post('report', text, old);
    expect(stale.status).toBe(401);
    expect(stale.json.error.message).toContain('stale timestamp');
    // The secret never appears in a reply or the log.
    expect(bad.raw + lines.join('\n')).not.toContain(HMAC);
  });

  it('bad input names the field: 400 GW_VALIDATION', async () => {
    const noLat = await post('report', report({ location: { lon: 120.02 } }));
    expect(noLat.status).toBe(400);
    expect(noLat.json.error).toMatchObject({ code: Codes.GW_VALIDATION, field: 'location.lat' });
    const v2 = await post('report', report({ version: 2 }));
    expect(v2.status).toBe(400);
    expect(v2.json.error.field).toBe('version');
    const noPhoto = await post('report', report({ photos: [] }));
    expect(noPhoto.json.error.field).toBe('photos');
    const notJson = await post('report', '{"version":');
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.field).toBe('(body)');
    const extra = await post('report', report({ reporterIp: '1.2.3.4' }));
    expect(extra.status).toBe(400);
    expect(extra.json.error.field).toBe('reporterIp');
  });

  it('a non-image photo is 415, an oversized one 413, naming the photo', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj\n<<>>\nendobj\n').toString('base64');
    const bad = await post('report', report({ photos: [{ data: photo.toString('base64') }, { data: pdf }] }));
    expect(bad.status).toBe(415);
    expect(bad.json.error).toMatchObject({ code: Codes.GW_UNSUPPORTED_MEDIA_TYPE, field: 'photos[1]' });
    // JPEG magic bytes, not a JPEG: refused at decode, not stored.
    const fake = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100, 7)]).toString(
      'base64',
    );
    expect((await post('report', report({ photos: [{ data: fake }] }))).json.error.field).toBe('photos[0]');
    const big = await sharp({
      create: {
        width: 400,
        height: 400,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
      },
    })
      .png()
      .toBuffer();
    expect(big.length).toBeGreaterThan(200_000);
    const r = await post('report', report({ photos: [{ data: big.toString('base64') }] }));
    expect(r.status).toBe(413);
    expect(r.json.error).toMatchObject({ code: Codes.GW_BODY_TOO_LARGE, field: 'photos[0]' });
  });

  it('outside the source scope, or a kind it may not send: 403', async () => {
    // 330102… is outside citizen-app's scope 330101.
    const out = await post('report', report({ location: { lon: 120.22, lat: 30.02, crs: 'WGS84' } }));
    expect(out.status).toBe(403);
    expect(out.json.error).toMatchObject({ code: Codes.GW_FORBIDDEN, field: 'location' });
    const kind = await post('air_quality', { version: 1 });
    expect(kind.status).toBe(403);
    const unknown = await post('fireworks', {});
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe(Codes.GW_NOT_FOUND);
  });

  it('over the source rate limit: 429 GW_RATE_LIMITED with Retry-After', async () => {
    const aq = () => ({
      version: 1,
      eventId: `aq-${Date.now()}-${++n}`,
      stationId: 'st-01',
      location: { lon: 120.03, lat: 30.03 },
      values: { pm25: 20 },
      thresholds: { pm25: 75 },
    });
    // Invalid bodies still count (the limit is checked before parsing); 3 per minute.
    for (let attempt = 0; attempt < 2; attempt++) {
      const minute = Math.floor(Date.now() / 60_000);
      const got: number[] = [];
      for (let i = 0; i < 4; i++) {
        const text = JSON.stringify(aq());
        got.push((await post('air_quality', text, signed('slow', text))).status);
      }
      // The fixed window rolled over mid-burst: try again in the next one.
      if (Math.floor(Date.now() / 60_000) !== minute) continue;
      expect(got).toEqual([400, 400, 400, 429]);
      const text = JSON.stringify(aq());
      const r = await post('air_quality', text, signed('slow', text));
      expect(r.json.error.code).toBe(Codes.GW_RATE_LIMITED);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      return;
    }
    throw new Error('two minute boundaries crossed');
  });
});

describe('events API: sensor platforms (API key)', () => {
  const keyed = (body: unknown) => ({
    headers: {
      [EVENT_HEADERS.source]: 'parking',
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });

  it('a parking overstay keeps only the masked plate', async () => {
    const ev = {
      version: 1,
      eventId: `p-${Date.now()}`,
      lotId: 'lot-17',
      lotName: '东风路路侧停车',
      spaceId: 'B-023',
      plate: '浙A12345',
      location: { lon: 120.03, lat: 30.03, crs: 'WGS84' },
      parkedAt: new Date(Date.now() - 200 * 60_000).toISOString(),
      limitMin: 120,
    };
    const k = keyed(ev);
    const r = await post('parking_overstay', k.body, k.headers);
    expect(r.status).toBe(202);
    const a = await alertFor(ev.eventId);
    expect(a.type).toBe('parking_overstay');
    expect(a.typeLabel.zh).toBe('超时停车');
    expect(a.source).toMatchObject({ kind: 'parking', name: '智慧停车平台' });
    expect(a.source?.summary).toContain('浙A***45');
    expect(JSON.stringify(a) + JSON.stringify(await gw.dispatcher.alerts.audit(a.id, ADMIN))).not.toContain(
      '12345',
    );
    const wrongKey = await post('parking_overstay', k.body, { ...k.headers, authorization: 'Bearer nope' });
    expect(wrongKey.status).toBe(401);
  });

  it('an air-quality breach names station and values; no value over its threshold is 400 on values', async () => {
    const ev = {
      version: 1,
      eventId: `aq-${Date.now()}`,
      stationId: 'st-09',
      stationName: '东风路监测站',
      location: { lon: 120.03, lat: 30.03 },
      values: { pm25: 160, pm10: 90 },
      thresholds: { pm25: 75, pm10: 150 },
    };
    const r = await post('air_quality', keyed(ev).body, keyed(ev).headers);
    expect(r.status).toBe(202);
    const a = await alertFor(ev.eventId);
    expect(a.type).toBe('air_quality_breach');
    expect(a.source?.summary).toBe('东风路监测站: pm25 160 > 75');
    const fine = { ...ev, eventId: 'aq-fine', values: { pm25: 10 } };
    const f = await post('air_quality', keyed(fine).body, keyed(fine).headers);
    expect(f.status).toBe(400);
    expect(f.json.error.field).toBe('values');
  });
});

describe('events API: a report near an open camera alert', () => {
  it('merges into it (the audit says so); one far away or of another type raises its own', async () => {
    const t = Date.now();
    await gw.dispatcher.sink.submit({
      id: `det:cam-ev:road_obstruction:${t}`,
      cameraId: 'cam-ev',
      type: 'road_obstruction',
      zoneId: null,
      score: 0.9,
      trackIds: ['k1'],
      boxes: [{ x1: 0.1, y1: 0.1, x2: 0.3, y2: 0.3, label: 'obstacle', score: 0.9 }],
      firstSeen: t - 10_000,
      lastSeen: t,
      evidence: { first: null, latest: null },
      detector: { plugin: 'test', version: '1' },
    });
    const cam = await waitFor('camera alert', async () =>
      (await gw.dispatcher.alerts.list({ scope: '3301', cameraId: 'cam-ev', limit: 10 })).items.at(0),
    );
    // ~110 m north-east of the camera: within distanceM 200.
    const near = report({ location: { lon: CAM.lon + 0.0008, lat: CAM.lat + 0.0006, crs: 'WGS84' } });
    const r = await post('report', near);
    expect(r.status).toBe(202);
    expect(r.json.mergedInto).toBe(cam.id);
    const merged = await waitFor('merge', async () => {
      const a = await gw.dispatcher.alerts.get(cam.id, ADMIN);
      return a.count === 2 ? a : null;
    });
    expect(merged.boxes).toEqual(cam.boxes);
    expect(merged.source).toBeUndefined();
    const audit = await gw.dispatcher.alerts.audit(cam.id, ADMIN);
    const entry = audit.find((e) => e.action === 'merge_report');
    expect(entry?.actor).toBe('source:citizen-app');
    expect(entry?.note).toContain(near.eventId);
    expect(entry?.note).toMatch(/\d+ m from 东风路口/);
    expect(JSON.stringify(audit)).not.toContain('13800138000');
    mergedCam = { id: cam.id, eventId: near.eventId };

    const far = report({ location: { lon: CAM.lon + 0.01, lat: CAM.lat, crs: 'WGS84' } });
    expect((await post('report', far)).json.mergedInto).toBeNull();
    const other = report({ type: 'street_vending', location: near.location });
    expect((await post('report', other)).json.mergedInto).toBeNull();
    const own: Alert = await alertFor(other.eventId);
    expect(own.id).not.toBe(cam.id);
  });
});

describe('events API: reading a stored reporter contact', () => {
  it('admins and supervising operators read it, each read audited; others get 403 or 404; it is in no list, socket event or log', async () => {
    const tokens: Record<string, string> = {};
    for (const u of ['admin', 'zhen', 'gridop', 'viewer', 'away']) tokens[u] = await tokenOf(u);
    const read = async (who: string, id: string) => {
      const r = await fetch(`${url}/api/v1/alerts/${encodeURIComponent(id)}/reporter-contact`, {
        headers: { authorization: `Bearer ${tokens[who]}` },
      });
      return { status: r.status, json: (await r.json()) as Loose };
    };
    const socket = wallClient(url, tokens.admin);
    try {
      await connected(socket);
      const body = report({
        type: 'street_vending',
        reporter: { role: 'citizen', name: '李先生', phone: '13911112222' },
      });
      expect((await post('report', body)).status).toBe(202);
      const a = await alertFor(body.eventId);

      // Viewers and the grid's own operator: 403 with the catalogue code; another county: 404.
      for (const who of ['viewer', 'gridop']) {
        const r = await read(who, a.id);
        expect(r.status).toBe(403);
        expect(r.json.code).toBe(Codes.GW_FORBIDDEN);
      }
      expect((await read('away', a.id)).json.code).toBe(Codes.GW_NOT_FOUND);
      const unauth = await fetch(`${url}/api/v1/alerts/${a.id}/reporter-contact`);
      expect(unauth.status).toBe(401);
      expect((await gw.dispatcher.alerts.audit(a.id, ADMIN)).map((e) => e.action)).toEqual(['create']);

      // The township's supervisor and an admin read it; each read is an audit entry by them.
      const z = await read('zhen', a.id);
      expect(z.status).toBe(200);
      expect(z.json).toEqual({
        alertId: a.id,
        contacts: [
          {
            source: 'citizen-app',
            eventId: body.eventId,
            role: 'citizen',
            name: '李先生',
            phone: '13911112222',
            reportedAt: expect.any(Number),
            merged: false,
          },
        ],
      });
      expect((await read('admin', a.id)).status).toBe(200);
      const reads = (await gw.dispatcher.alerts.audit(a.id, ADMIN)).filter((e) =>
        e.note?.startsWith('查看举报人联系方式'),
      );
      expect(reads.map((e) => [e.actor, e.action])).toEqual([
        ['zhen', 'note'],
        ['admin', 'note'],
      ]);
      expect(reads.every((e) => e.note!.includes(`citizen-app/${body.eventId}`))).toBe(true);

      // A report merged into a camera alert: its contact is read on that alert, marked merged.
      expect(mergedCam).not.toBeNull();
      const m = await read('admin', mergedCam!.id);
      expect(m.status).toBe(200);
      expect(m.json.contacts).toMatchObject([
        { eventId: mergedCam!.eventId, merged: true, phone: '13800138000' },
      ]);

      // None stored: a report without contact, an unknown alert.
      const anon = report({
        type: 'garbage_exposed',
        reporter: { role: 'citizen' },
        location: { lon: 120.05, lat: 30.05, crs: 'WGS84' },
      });
      expect((await post('report', anon)).status).toBe(202);
      const b = await alertFor(anon.eventId);
      const none = await read('admin', b.id);
      expect(none.status).toBe(404);
      expect(none.json.code).toBe(Codes.GW_NOT_FOUND);
      expect((await read('admin', 'A20990101-0000001')).status).toBe(404);

      // Nowhere else: the list API, the socket events (the new alert and the updates the reads made), the log.
      const list = await (
        await fetch(`${url}/api/v1/alerts?limit=200`, {
          headers: { authorization: `Bearer ${tokens.admin}` },
        })
      ).text();
      expect(list).toContain(body.eventId);
      await until(
        () => socket.received.filter((x) => x.id === a.id).length >= 3,
        'socket events of the alert',
      );
      const pushed = JSON.stringify(socket.received);
      for (const text of [list, pushed, sink.text()]) {
        expect(text).not.toContain('13911112222');
        expect(text).not.toContain('李先生');
      }
    } finally {
      socket.disconnect();
    }
  });
});

describe('events API: on the wall', () => {
  it('the detail panel shows the source and its summary, and the photo as evidence', async () => {
    const body = report({ type: 'garbage_exposed', text: '垃圾桶满溢' });
    expect((await post('report', body)).status).toBe(202);
    const a = await alertFor(body.eventId);
    const browser = await launchChromium();
    try {
      const w = await openWall(browser, url, 'admin', PASSWORD);
      await w.page.locator(`#cards .card[data-id="${a.id}"]`).click();
      await w.page.locator('#detail').waitFor();
      await expect
        .poll(() => w.page.locator('#detail-facts').textContent())
        .toContain('来源随手拍小程序 · 垃圾桶满溢');
      expect(await w.page.locator('#detail-facts').textContent()).not.toContain('13800138000');
      // The stored photo is served like camera evidence.
      const status = await w.page.evaluate(
        async (id) => (await fetch(`/api/v1/alerts/${id}/evidence/latest`)).status,
        a.id,
      );
      expect(status).toBe(200);
      // As in test/wall: the 401 of the session check before login, 404s of absent evidence.
      expect(w.errors.filter((e) => !/401|404/.test(e))).toEqual([]);
      await w.context.close();
    } finally {
      await browser.close();
    }
  });
});

describe('events API: sources.yaml is hot-reloaded', () => {
  it('a new source works after an edit; a broken edit keeps the last good file', async () => {
    const extra = `  - id: worker-app
    name: 网格通
    auth: { type: apiKey, key: { file: secrets/parking.key } }
    scope: ['3301']
    kinds: [report]
`;
    // fire_smoke: no open camera alert of that type nearby to merge into.
    const body = report({ type: 'fire_smoke', reporter: { role: 'grid_worker', workerId: 'w-007' } });
    const send = () =>
      post('report', JSON.stringify(body), {
        [EVENT_HEADERS.source]: 'worker-app',
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
      });
    expect((await send()).status).toBe(401);
    writeFileSync(join(root, 'sources.yaml'), sourcesYaml(extra));
    const ok = await waitFor('reload', async () => {
      const r = await send();
      return r.status === 202 ? r : null;
    });
    expect(ok.json.source).toBe('worker-app');
    expect((await alertFor(body.eventId)).source?.kind).toBe('grid_worker');
    // Broken: ratePerMin is a string. Logged with file, line and field; the old file stays.
    writeFileSync(
      join(root, 'sources.yaml'),
      sourcesYaml(extra).replace('ratePerMin: 3', "ratePerMin: 'lots'"),
    );
    await waitFor('rejection logged', () => lines.some((l) => l.includes('sources[2].ratePerMin')));
    const line = lines.find((l) => l.includes('sources[2].ratePerMin'))!;
    expect(line).toMatch(/sources\.yaml:\d+:\d+/);
    const again = report({ reporter: { role: 'grid_worker' } });
    const r = await post('report', JSON.stringify(again), {
      [EVENT_HEADERS.source]: 'worker-app',
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
    });
    expect(r.status).toBe(202);
  });
});
