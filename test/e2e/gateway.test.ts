/**
 * The whole gateway as `scripts/start.sh` runs it (built, from dist/): a child process on a config like the demo's,
 * with its own embedded Redis, the real demo city, a camera looping real street footage, the
 * real model and rules, and operators of two counties connected over Socket.IO.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import { REPO_ROOT, vtestH264 } from '../helpers/media.js';

const USERS = `
users:
  - { username: admin, displayName: 管理员, role: admin, scope: '4412', passwordHash: 'scrypt$16384$8$1$gBjreYQnbRD0Wx__pa13Fg$Hu1ezgtO_5-aAY0FufuGe9L_rHCXqgBAEBGg0fOEDJQlFOdusD1JhxLQTv9-7PmyNt7aahx5SS6rDqtU0cC4uA' }
  - { username: duanzhou, displayName: 端州值班员, role: operator, scope: '441202', passwordHash: 'scrypt$16384$8$1$1bQBZhGT91c9X05Aopz30Q$2vNX8VzbvCzyoatKqqZh-jwnLID3LgNTFIGC0A9Pc7AaQ_XwRYlCfbjlN1MoHXlOUxFS7fChBVollDZ6u4o9-g' }
  - { username: dinghu, displayName: 鼎湖值班员, role: operator, scope: '441203', passwordHash: 'scrypt$16384$8$1$9dzUzKVMjpLEuxibJ0_m4w$EnmJcrMq4LtTGpUO5aSDEfHpGiqHSGtI_iOCiI_facumWBxTS4gy3wdNzWPulgIrmfqU_o4bqFKoiaCQv4aCVw' }
`;
const PASSWORDS: Record<string, string> = {
  admin: 'gridwatch-admin',
  duanzhou: 'gridwatch-dz',
  dinghu: 'gridwatch-dh',
};

let dir: string;
let child: ChildProcess;
let url: string;
let output = '';

async function login(username: string): Promise<string> {
  const r = await fetch(`${url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORDS[username] }),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { token: string }).token;
}

function connect(token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(url, { auth: { token, protocol: 1 }, transports: ['websocket'] });
    s.once('wall:hello', () => resolve(s));
    s.once('connect_error', reject);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-e2e-'));
  await mkdir(join(dir, 'cameras'));
  await mkdir(join(dir, 'grids'));
  const gen = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/gen-demo-grid.ts', '--out', join(dir, 'grids/city.geojson')],
    {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    },
  );
  expect(await new Promise((r) => gen.once('exit', r))).toBe(0);
  await writeFile(
    join(dir, 'gateway.yaml'),
    `http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ncameras: { dirs: [./cameras] }\ngrids: { file: ./grids/city.geojson }\ndetectors: { workers: 1 }\n${USERS}`,
  );
  // A camera in 端州区 (441202) over the street in vtest.avi, with a no-parking zone around the
  // van that stays parked for the whole clip.
  await writeFile(
    join(dir, 'cameras', 'street.yaml'),
    `cameras:
  - id: e2e-street
    name: 端州区 测试路口
    source: { kind: file, path: ${JSON.stringify(vtestH264())} }
    location: { lon: 112.4712, lat: 23.0498, crs: GCJ02 }
    samplingIntervalSec: 2
    detectors: [{ rule: illegal_parking, options: { dwellSec: 12 } }]
    zones:
      - { id: no-parking, name: 禁停区, polygon: [[0.8, 0.04], [1.0, 0.04], [1.0, 0.26], [0.8, 0.26]], rules: [illegal_parking] }
`,
  );
  child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts', '--config', join(dir, 'gateway.yaml')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GRIDWATCH_LOG_LEVEL: 'warn' },
  });
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /gridwatch wall: (http:\/\/[\d.:]+)\//.exec(output);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
      if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`gateway exited ${child.exitCode}: ${output}`));
      }
    }, 100);
  });
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('gateway end to end', () => {
  it('is ready, with its embedded redis, the demo city and the camera accepted', async () => {
    const r = await fetch(`${url}/readyz`);
    const body = (await r.json()) as {
      ready: boolean;
      checks: Record<string, { ok: boolean; detail?: string }>;
    };
    expect(r.status).toBe(200);
    expect(body.checks.redis?.detail).toMatch(/^embedded redis:\/\/127\.0\.0\.1:\d+/);
    expect(body.checks.config?.detail).toContain('1 cameras accepted, 0 rejected');
    expect(body.checks.detectors?.detail).toMatch(/backend (wasm|tensorflow)/);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('gridwatch_config_cameras_accepted 1');
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('网格巡检墙');
    expect((await fetch(`${url}/vendor/mpegts.js`)).status).toBe(200);
  });

  it('raises one parking alert for the parked van in the county operator’s grid, and not in the other county', async () => {
    const [dz, dh] = await Promise.all([login('duanzhou'), login('dinghu')]);
    const [sdz, sdh] = await Promise.all([connect(dz), connect(dh)]);
    const otherCounty: Alert[] = [];
    sdh.on('alert:new', (a: Alert) => otherCounty.push(a));
    const alert = await new Promise<Alert>((resolve) =>
      sdz.on('alert:new', (a: Alert) => a.type === 'illegal_parking' && resolve(a)),
    );
    expect(alert.cameraId).toBe('e2e-street');
    expect(alert.zoneId).toBe('no-parking');
    expect(alert.gridCode).toMatch(/^441202\d{9}$/);
    expect(alert.gridPath.map((g) => g.level)).toEqual(['city', 'county', 'township', 'community', 'grid']);
    expect(alert.lastSeen - alert.firstSeen).toBeGreaterThanOrEqual(12_000);
    // evidence is served to the operator in scope and refused to the other county
    const img = await fetch(`${url}/api/v1/alerts/${alert.id}/evidence/first`, {
      headers: { authorization: `Bearer ${dz}` },
    });
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    const denied = await fetch(`${url}/api/v1/alerts/${alert.id}/evidence/first`, {
      headers: { authorization: `Bearer ${dh}` },
    });
    expect([403, 404]).toContain(denied.status);
    // keep sampling a little longer: the van stays, and must not become a second alert
    await new Promise((r) => setTimeout(r, 8_000));
    const list = await fetch(`${url}/api/v1/alerts?type=illegal_parking`, {
      headers: { authorization: `Bearer ${dz}` },
    });
    expect(list.status).toBe(200);
    const page = (await list.json()) as { items: Alert[] };
    expect(page.items.filter((a) => a.zoneId === 'no-parking')).toHaveLength(1);
    expect(otherCounty).toEqual([]);
    sdz.close();
    sdh.close();
  }, 240_000);

  it('relays live video on request through the wall, to the county in scope only', async () => {
    const [dz, dh] = await Promise.all([login('duanzhou'), login('dinghu')]);
    const headers = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
    const denied = await fetch(`${url}/api/v1/cameras/e2e-street/live`, {
      method: 'POST',
      headers: headers(dh),
      body: '{}',
    });
    expect(denied.status).toBe(403);
    const r = await fetch(`${url}/api/v1/cameras/e2e-street/live`, {
      method: 'POST',
      headers: headers(dz),
      body: '{}',
    });
    expect(r.status).toBe(200);
    const ticket = (await r.json()) as { flvUrl: string };
    expect(ticket.flvUrl.startsWith('/media/')).toBe(true);
    expect(ticket.flvUrl).not.toMatch(/rtsp:|@|password/i);
    const ac = new AbortController();
    const flv = await fetch(new URL(ticket.flvUrl, url), {
      headers: { authorization: `Bearer ${dz}` },
      signal: ac.signal,
    });
    expect(flv.status).toBe(200);
    const reader = flv.body!.getReader();
    let bytes = new Uint8Array(0);
    while (bytes.length < 64 * 1024) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes = new Uint8Array([...bytes, ...value]);
    }
    ac.abort();
    expect(Buffer.from(bytes.subarray(0, 3)).toString()).toBe('FLV');
    expect(bytes.length).toBeGreaterThanOrEqual(64 * 1024);
  }, 120_000);

  it('shuts down on SIGTERM: exit code 0 and its redis-server gone', async () => {
    const pidfile = join(dir, 'var', 'redis', 'redis.pid');
    expect(existsSync(pidfile)).toBe(true);
    const redisPid = Number(readFileSync(pidfile, 'utf8'));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    expect(existsSync(`/proc/${redisPid}`)).toBe(false);
    expect(output).not.toMatch(/Unhandled|Connection is closed/);
  }, 60_000);
});
