/**
 * Grid workers over real HTTP against the gateway the wall harness builds: who is responsible
 * for an alert's grid, 派遣 to a worker, the worker's task list, 处置反馈 with a photo (checked
 * for size and type) and the 二次识别 re-check on that photo with the real model: a photo with
 * the van gone closes the alert, one with the van still there reopens it. Then the worker
 * statistics over the same alerts.
 */
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import { startHarness, type Harness } from '../wall/helpers/wall-harness.js';
import { waitFor } from '../helpers/wait-for.js';
import { disposalPhotos, recheckOnlyDetectors, ROSTER, VAN_BOX, WORKER_USERS } from './fixtures.js';

let h: Harness;
let photos: { vanThere: Buffer; vanGone: Buffer };
const auth: Record<string, { token: string; csrf: string; cookie: string }> = {};

beforeAll(async () => {
  photos = await disposalPhotos();
  h = await startHarness({
    workers: ROSTER,
    extraUsers: WORKER_USERS,
    detectors: recheckOnlyDetectors(),
    dispatcher: { recheck: { illegal_parking: { delaySec: 0.1, autoClose: true } } },
  });
  for (const u of ['admin', 'zhangwei', 'zhaomin', 'wangqiang', 'wangfang', 'liming'])
    auth[u] = await h.login(u);
}, 120_000);
afterAll(async () => {
  await h?.close();
});

async function api(
  user: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${h.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${auth[user]!.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function dispose(
  user: string,
  id: string,
  parts: { note?: string; photo?: Blob; version?: number },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const fd = new FormData();
  if (parts.note !== undefined) fd.set('note', parts.note);
  if (parts.version !== undefined) fd.set('version', String(parts.version));
  if (parts.photo) fd.set('photo', parts.photo, 'photo.jpg');
  const res = await fetch(`${h.url}/api/v1/workers/tasks/${encodeURIComponent(id)}/disposal`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth[user]!.token}` },
    body: fd,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A parking alert on cam-df-01 (东风社区第一网格) with the van's box, confirmed by zhangwei. */
async function confirmedAlert(): Promise<Alert> {
  const a = await h.inject({ cameraId: 'cam-df-01', boxes: [VAN_BOX] });
  const r = await api('zhangwei', 'POST', `/alerts/${encodeURIComponent(a.id)}/actions`, {
    action: 'confirm',
    version: a.version,
  });
  expect(r.status).toBe(200);
  return r.json as unknown as Alert;
}

const jpeg = (b: Buffer) => new Blob([new Uint8Array(b)], { type: 'image/jpeg' });
const until = (id: string, ok: (a: Alert) => boolean) =>
  waitFor(
    `alert ${id}`,
    async () => {
      const a = await h.alerts.get(id, { username: 'admin', displayName: 'a', role: 'admin', scope: '3301' });
      return ok(a) ? a : null;
    },
    30_000,
  );

describe('responsible workers (一长多员)', () => {
  it('names the grid’s team, leader first; the phone only to admins', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01' });
    const op = await api('zhangwei', 'GET', `/workers/responsible/${encodeURIComponent(a.id)}`);
    expect(op.status).toBe(200);
    expect(op.json.gridCode).toBe('330101001001001');
    const ws = op.json.workers as Array<Record<string, unknown>>;
    expect(ws.map((w) => [w.id, w.roleZh])).toEqual([
      ['w001', '网格长'],
      ['w002', '专职网格员'],
    ]);
    expect(JSON.stringify(op.json)).not.toContain('13800000001');
    const ad = await api('admin', 'GET', `/workers/responsible/${encodeURIComponent(a.id)}`);
    expect((ad.json.workers as Array<{ phone?: string }>)[0]!.phone).toBe('13800000001');
    // The roster list follows the same rule.
    const list = await api('zhangwei', 'GET', '/workers/roster');
    expect(JSON.stringify(list.json)).not.toMatch(/138000000/);
    expect((list.json.workers as unknown[]).length).toBe(4);
  });

  it('falls back to the nearest ancestor grid that has workers', async () => {
    const a = await h.inject({ cameraId: 'cam-bs-01' });
    const r = await api('admin', 'GET', `/workers/responsible/${encodeURIComponent(a.id)}`);
    expect(r.json.gridCode).toBe('330101002');
    expect((r.json.workers as Array<{ id: string }>).map((w) => w.id)).toEqual(['w020']);
    // Out of scope reads as not found.
    expect((await api('wangqiang', 'GET', `/workers/responsible/${encodeURIComponent(a.id)}`)).status).toBe(
      404,
    );
  });
});

describe('roster hot reload', () => {
  it('an edit of workers.yaml applies without a restart; a broken edit keeps the last good roster', async () => {
    const a = await h.inject({ cameraId: 'cam-df-02', type: 'street_vending' });
    const team = async () =>
      (
        (await api('zhangwei', 'GET', `/workers/responsible/${encodeURIComponent(a.id)}`)).json
          .workers as Array<{
          id: string;
        }>
      ).map((w) => w.id);
    expect(await team()).toEqual(['w003']);
    const file = join(h.dataDir, 'workers.yaml');
    await writeFile(
      file,
      `${ROSTER}  - { id: w004, name: 周强, grids: ['330101001001002'], role: leader }\n`,
    );
    await waitFor('the edited roster', async () => (await team()).join() === 'w004,w003', 15_000);
    await writeFile(file, `${ROSTER}  - { id: w004, name: 周强, grids: ['330101001001002'], role: chief }\n`);
    await waitFor(
      'the rejected edit in the log',
      () => /workers\.yaml:\d+:\d+ workers\[5\]\.role/.test(h.logs.text()),
      15_000,
    );
    expect(await team()).toEqual(['w004', 'w003']);
  });
});

describe('派遣 and 处置反馈', () => {
  it('refuses a dispatch before confirm, by a viewer, or to a worker of another grid', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01' });
    const id = encodeURIComponent(a.id);
    const early = await api('zhangwei', 'POST', `/workers/dispatch/${id}`, { workerId: 'w001' });
    expect(early.status).toBe(409);
    expect(early.json.code).toBe('GW_INVALID_TRANSITION');
    expect(
      (await api('zhangwei', 'POST', `/alerts/${id}/actions`, { action: 'confirm', version: a.version }))
        .status,
    ).toBe(200);
    expect((await api('zhaomin', 'POST', `/workers/dispatch/${id}`, {})).status).toBe(403);
    const other = await api('zhangwei', 'POST', `/workers/dispatch/${id}`, { workerId: 'w003' });
    expect(other.status).toBe(400);
    expect(other.json.field).toBe('workerId');
    const bad = await api('zhangwei', 'POST', `/workers/dispatch/${id}`, { workerId: 'w001', extra: 1 });
    expect(bad.status).toBe(400);
    // A worker account is not an operator of the wall.
    expect((await api('wangfang', 'POST', `/workers/dispatch/${id}`, {})).status).toBe(403);
  });

  it('a dispatched task reaches its worker only; a non-worker has no task list', async () => {
    const a = await confirmedAlert();
    const d = await api('zhangwei', 'POST', `/workers/dispatch/${encodeURIComponent(a.id)}`, {
      workerId: 'w001',
      note: '请尽快处理',
    });
    expect(d.status).toBe(201);
    const after = d.json.alert as Alert;
    expect(after.state).toBe('dispatched');
    expect(after.assignment).toMatchObject({ workerId: 'w001', gridCode: '330101001001001', by: 'zhangwei' });
    const audit = await h.alerts.audit(a.id, {
      username: 'admin',
      displayName: 'a',
      role: 'admin',
      scope: '3301',
    });
    expect(audit.at(-1)).toMatchObject({ action: 'worker_dispatch', actor: 'zhangwei', to: 'dispatched' });

    const mine = await api('wangfang', 'GET', '/workers/me');
    expect(mine.status).toBe(200);
    expect((mine.json.tasks as Array<{ id: string }>).map((t) => t.id)).toContain(a.id);
    const colleague = await api('liming', 'GET', '/workers/me');
    expect((colleague.json.tasks as Array<{ id: string }>).map((t) => t.id)).not.toContain(a.id);
    const notWorker = await api('zhangwei', 'GET', '/workers/me');
    expect(notWorker.status).toBe(403);
    // The colleague cannot report on it either.
    const r = await dispose('liming', a.id, { note: '已处理', photo: jpeg(photos.vanGone) });
    expect(r.status).toBe(403);
  });

  it('refuses a missing, non-image, undecodable or oversized photo and a missing note, storing nothing', async () => {
    const a = await confirmedAlert();
    await api('zhangwei', 'POST', `/workers/dispatch/${encodeURIComponent(a.id)}`, {});
    const none = await dispose('wangfang', a.id, { note: '已处理' });
    expect([none.status, none.json.field]).toEqual([400, 'photo']);
    const text = await dispose('wangfang', a.id, {
      note: '已处理',
      photo: new Blob(['not an image at all'], { type: 'image/jpeg' }),
    });
    expect([text.status, text.json.code]).toEqual([415, 'GW_UNSUPPORTED_MEDIA_TYPE']);
    const broken = await dispose('wangfang', a.id, {
      note: '已处理',
      photo: new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4])]),
    });
    expect([broken.status, broken.json.code]).toEqual([415, 'GW_UNSUPPORTED_MEDIA_TYPE']);
    const big = await dispose('wangfang', a.id, {
      note: '已处理',
      photo: new Blob([new Uint8Array(6 * 1024 * 1024).fill(0xff)]),
    });
    expect([big.status, big.json.code]).toEqual([413, 'GW_BODY_TOO_LARGE']);
    const noNote = await dispose('wangfang', a.id, { photo: jpeg(photos.vanGone) });
    expect([noNote.status, noNote.json.field]).toEqual([400, 'note']);
    const stored = () => readdirSync(join(h.dataDir, 'evidence'), { recursive: true }).length;
    const filesBefore = stored();
    const stale = await dispose('wangfang', a.id, {
      note: '已处理',
      photo: jpeg(photos.vanGone),
      version: 1,
    });
    expect([stale.status, stale.json.code]).toEqual([409, 'GW_CONFLICT']);
    // Refused before the photo is stored: no orphan file.
    expect(stored()).toBe(filesBefore);
    const cur = await until(a.id, () => true);
    expect(cur.state).toBe('dispatched');
    expect(cur.disposal ?? null).toBeNull();
    // No 5xx, no stack, no absolute path in any of those replies.
    for (const r of [none, text, broken, big, noNote, stale])
      expect(JSON.stringify(r.json)).not.toMatch(/\/tmp\/|\/work\/|at .*\.ts:/);
  });

  it('a photo with the van gone passes the re-check: handled, then closed', async () => {
    const a = await confirmedAlert();
    await api('zhangwei', 'POST', `/workers/dispatch/${encodeURIComponent(a.id)}`, { workerId: 'w001' });
    const r = await dispose('wangfang', a.id, { note: '车辆已驶离，已劝导', photo: jpeg(photos.vanGone) });
    expect(r.status).toBe(201);
    expect((r.json.task as { state: string }).state).toBe('handled');
    const closed = await until(a.id, (x) => x.state === 'closed');
    expect(closed.recheck).toMatchObject({ present: false, round: 1 });
    expect(closed.disposal).toMatchObject({ workerId: 'w001', note: '车辆已驶离，已劝导' });
    const audit = await h.alerts.audit(a.id, {
      username: 'admin',
      displayName: 'a',
      role: 'admin',
      scope: '3301',
    });
    expect(audit.slice(-2).map((e) => [e.actor, e.action, e.to])).toEqual([
      ['worker:w001', 'worker_disposal', 'handled'],
      ['system:recheck', 'recheck_close', 'closed'],
    ]);
    // The stored photo is served to the worker, re-encoded (EXIF-free JPEG).
    const img = await fetch(`${h.url}/api/v1/workers/tasks/${encodeURIComponent(a.id)}/evidence/disposal`, {
      headers: { authorization: `Bearer ${auth.wangfang!.token}` },
    });
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    // … and to the operators who check it on the wall; another county's reads as not found.
    const seen = async (user: string) =>
      (
        await fetch(`${h.url}/api/v1/workers/disposal-photo/${encodeURIComponent(a.id)}`, {
          headers: { authorization: `Bearer ${auth[user]!.token}` },
        })
      ).status;
    expect(await seen('zhangwei')).toBe(200);
    expect(await seen('wangqiang')).toBe(404);
  });

  it('a photo with the van still there fails the re-check: the alert reopens', async () => {
    const a = await confirmedAlert();
    await api('zhangwei', 'POST', `/workers/dispatch/${encodeURIComponent(a.id)}`, { workerId: 'w001' });
    const r = await dispose('wangfang', a.id, { note: '已处理', photo: jpeg(photos.vanThere) });
    expect(r.status).toBe(201);
    const reopened = await until(a.id, (x) => x.state === 'confirmed' && x.recheck != null);
    expect(reopened.recheck).toMatchObject({ present: true, round: 1 });
    // The worker's list shows it as not passed (复核未通过) and it takes no second report until dispatched again.
    const mine = await api('wangfang', 'GET', '/workers/me');
    const t = (mine.json.tasks as Array<{ id: string; reopened: boolean }>).find((x) => x.id === a.id);
    expect(t?.reopened).toBe(true);
    const again = await dispose('wangfang', a.id, { note: '再次处理', photo: jpeg(photos.vanGone) });
    expect(again.status).toBe(409);
  });
});

describe('worker statistics (考核)', () => {
  it('counts tasks, disposals, reopened and dispose times per worker', async () => {
    const now = Date.now();
    const r = await api('zhangwei', 'GET', `/workers/stats?from=${now - 3_600_000}&to=${now + 60_000}`);
    expect(r.status).toBe(200);
    const rows = r.json.rows as Array<Record<string, unknown>>;
    const w1 = rows.find((x) => x.workerId === 'w001')!;
    expect(w1).toMatchObject({ name: '王芳', roleZh: '网格长', disposals: 2, reopened: 1, passed: 1 });
    expect(w1.tasks).toBe(3);
    expect(w1.open).toBe(1);
    expect(typeof w1.medianDisposeMs).toBe('number');
    expect(w1.p90DisposeMs as number).toBeGreaterThanOrEqual(w1.medianDisposeMs as number);
    expect(rows.find((x) => x.workerId === 'w002')).toMatchObject({ tasks: 0, disposals: 0 });
    // Outside the operator's scope: refused; a bad range names the field.
    expect((await api('wangqiang', 'GET', `/workers/stats?from=0&to=1&gridCode=330101`)).status).toBe(403);
    const bad = await api('zhangwei', 'GET', `/workers/stats?from=5&to=1`);
    expect([bad.status, bad.json.field]).toEqual([400, 'to']);
  });

  it('never logs a worker’s phone', () => {
    expect(h.logs.text()).not.toContain('13800000001');
    expect(h.logs.text()).not.toContain('13800000020');
  });
});

// Last in the file: these change the roster and add disposals the statistics above do not count.
describe('who may report, retries and bodies of the wrong type', () => {
  const ADMIN = { username: 'admin', displayName: 'a', role: 'admin', scope: '3301' } as const;
  const post = (user: string, path: string, headers: Record<string, string>, body: string | FormData) =>
    fetch(`${h.url}/api/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth[user]!.token}`, ...headers },
      body,
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));

  it('refuses a disposal on an alert the platform dispatched (not through the wall)', async () => {
    const a = await confirmedAlert();
    await h.alerts.advance(
      a.id,
      { to: 'dispatched', action: 'platform_dispatched', note: '平台派遣' },
      ADMIN,
    );
    const r = await dispose('wangfang', a.id, { note: '已处理', photo: jpeg(photos.vanGone) });
    expect([r.status, r.json.code]).toEqual([403, 'GW_FORBIDDEN']);
    expect((await until(a.id, () => true)).disposal ?? null).toBeNull();
  });

  it('the same report sent twice is taken once; a different one on a handled alert is refused', async () => {
    const a = await confirmedAlert();
    await api('zhangwei', 'POST', `/workers/dispatch/${encodeURIComponent(a.id)}`, { workerId: 'w001' });
    const first = await dispose('wangfang', a.id, { note: '已劝离', photo: jpeg(photos.vanGone) });
    expect(first.status).toBe(201);
    const again = await dispose('wangfang', a.id, { note: '已劝离', photo: jpeg(photos.vanGone) });
    expect(again.status).toBe(200);
    const t1 = first.json.task as { disposal: { at: number; photo: string }; version: number };
    const t2 = again.json.task as { disposal: { at: number; photo: string }; version: number };
    expect(t2.disposal).toEqual(t1.disposal);
    const other = await dispose('wangfang', a.id, { note: '另一份反馈', photo: jpeg(photos.vanGone) });
    expect([other.status, other.json.code]).toEqual([409, 'GW_INVALID_TRANSITION']);
    const audit = await h.alerts.audit(a.id, ADMIN);
    expect(audit.filter((e) => e.action === 'worker_disposal')).toHaveLength(1);
  });

  it('an empty version field is a 400 naming it, not version 0', async () => {
    const a = await confirmedAlert();
    await api('zhangwei', 'POST', `/workers/dispatch/${encodeURIComponent(a.id)}`, { workerId: 'w001' });
    const fd = new FormData();
    fd.set('note', '已处理');
    fd.set('version', '');
    fd.set('photo', jpeg(photos.vanGone), 'p.jpg');
    const r = await post('wangfang', `/workers/tasks/${encodeURIComponent(a.id)}/disposal`, {}, fd);
    expect([r.status, r.json.field]).toEqual([400, 'version']);
  });

  it('a dispatch body that is not JSON is 415, not a dispatch to the team', async () => {
    const a = await confirmedAlert();
    const r = await post(
      'zhangwei',
      `/workers/dispatch/${encodeURIComponent(a.id)}`,
      { 'content-type': 'text/plain' },
      '{"workerId":"w002"}',
    );
    expect([r.status, r.json.code, r.json.field]).toEqual([415, 'GW_UNSUPPORTED_MEDIA_TYPE', '(body)']);
    expect((await until(a.id, () => true)).state).toBe('confirmed');
  });

  it('a worker of a grid above is not in the team a task was dispatched to', async () => {
    // 李明 moves up to the township (东风街道): he sees its alerts, but the 第一网格 team is 王芳.
    await writeFile(
      join(h.dataDir, 'workers.yaml'),
      ROSTER.replace("李明, grids: ['330101001001001']", "李明, grids: ['330101001']"),
    );
    const a = await confirmedAlert();
    await waitFor(
      'the edited roster',
      async () =>
        (
          (await api('zhangwei', 'GET', `/workers/responsible/${encodeURIComponent(a.id)}`)).json
            .workers as Array<{
            id: string;
          }>
        )
          .map((w) => w.id)
          .join() === 'w001',
      15_000,
    );
    const d = await api('zhangwei', 'POST', `/workers/dispatch/${encodeURIComponent(a.id)}`, {});
    expect((d.json.alert as Alert).assignment).toMatchObject({ workerId: null, gridCode: '330101001001001' });
    const ids = (user: string) =>
      api(user, 'GET', '/workers/me').then((r) => (r.json.tasks as Array<{ id: string }>).map((t) => t.id));
    expect(await ids('wangfang')).toContain(a.id);
    expect(await ids('liming')).not.toContain(a.id);
    const r = await dispose('liming', a.id, { note: '已处理', photo: jpeg(photos.vanGone) });
    expect([r.status, r.json.code]).toEqual([403, 'GW_FORBIDDEN']);
    expect((await until(a.id, () => true)).state).toBe('dispatched');
  });
});
