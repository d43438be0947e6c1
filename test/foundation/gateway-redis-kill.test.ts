/**
 * The built gateway (`node dist/app/main.js`, as scripts/start.sh runs it) with its embedded
 * Redis, when the redis-server child is killed with SIGKILL:
 * - the exit is logged once and the child is restarted on the same port and data directory;
 * - while it cannot come back (a squatter holds its port), /readyz is 503 and Redis-backed API
 *   requests answer 503 GW_REDIS_UNAVAILABLE (not 500);
 * - once the port is free it is back, the API answers 200 again;
 * - SIGTERM afterwards shuts the gateway down cleanly (exit code 0: the 10 s bound in main.ts
 *   exits 1, so a shutdown that hangs fails this test).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../core/errors.js';
import { makeConfigDir } from '../config/fixtures.js';
import { REPO_ROOT } from '../helpers/media.js';

const ADMIN =
  "  - { username: admin, displayName: 管理员, role: admin, scope: '4412', passwordHash: 'scrypt$16384$8$1$gBjreYQnbRD0Wx__pa13Fg$Hu1ezgtO_5-aAY0FufuGe9L_rHCXqgBAEBGg0fOEDJQlFOdusD1JhxLQTv9-7PmyNt7aahx5SS6rDqtU0cC4uA' }\n";

let cfg: Awaited<ReturnType<typeof makeConfigDir>>;
let child: ChildProcess;
let url = '';
let output = '';
let token = '';

async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.slice(-3_000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const logLines = () =>
  output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; level: number; component?: string });

const redisPid = () => Number(readFileSync(join(cfg.dir, 'var', 'redis', 'redis.pid'), 'utf8').trim());

async function api(path: string): Promise<{ status: number; body: { code?: string } }> {
  const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: (await r.json()) as { code?: string } };
}

/** Binds the port as soon as the killed redis has released it; accepts and drops every connection. */
async function squat(port: number): Promise<Server> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const s = createServer((sock) => sock.destroy());
    const ok = await new Promise<boolean>((res) => {
      s.once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => res(true));
    });
    if (ok) return s;
    if (Date.now() > deadline) throw new Error(`port ${port} never came free`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

beforeAll(async () => {
  cfg = await makeConfigDir({
    gateway: `http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ncameras: { dirs: [./cameras] }\ngrids: { file: ./grids/city.geojson }\nusers:\n${ADMIN}`,
  });
  child = spawn(
    process.execPath,
    ['dist/app/main.js', '--config', cfg.gatewayFile, '--roles', 'wall,dispatch'],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GRIDWATCH_LOG_LEVEL: 'info' },
    },
  );
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  url = await until(
    () => {
      if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}: ${output}`);
      return /gridwatch wall: (http:\/\/[\d.:]+)\//.exec(output)?.[1];
    },
    'gateway start',
    90_000,
  );
  const r = await fetch(`${url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'gridwatch-admin' }),
  });
  expect(r.status).toBe(200);
  token = ((await r.json()) as { token: string }).token;
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await cfg?.cleanup();
});

describe('gateway with its embedded redis killed', () => {
  it('restarts redis, answers 503 GW_REDIS_UNAVAILABLE while it is down, recovers, and stops cleanly on SIGTERM', async () => {
    expect((await api('/api/v1/alerts')).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const port = Number(/"port":(\d+)[^\n]*embedded redis started/.exec(output)?.[1]);
    expect(port).toBeGreaterThan(0);
    const first = redisPid();

    process.kill(first, 'SIGKILL');
    const squatter = await squat(port);
    let released = false;
    try {
      // Down: readiness says so at once, and a Redis-backed request is refused with the catalogue code.
      const ready = await until(async () => {
        const r = await fetch(`${url}/readyz`);
        return r.status === 503
          ? ((await r.json()) as { checks: Record<string, { ok: boolean }> })
          : undefined;
      }, 'readyz 503');
      expect(ready.checks.redis?.ok).toBe(false);
      const down = await until(async () => {
        const r = await api('/api/v1/alerts');
        return r.status === 200 ? undefined : r;
      }, 'API refused while redis is down');
      expect(down.status).toBe(503);
      expect(down.body.code).toBe(Codes.GW_REDIS_UNAVAILABLE);
      await until(
        () => (output.includes('redis-server restart failed; retrying') ? true : undefined),
        'failed restart',
      );
      await new Promise<void>((r) => squatter.close(() => r()));
      released = true;
    } finally {
      if (!released) squatter.close();
    }

    // Back on the same port: ready again and the API answers.
    await until(
      async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined),
      'readyz 200 again',
    );
    await until(
      async () => ((await api('/api/v1/alerts')).status === 200 ? true : undefined),
      'API 200 again',
    );
    expect(redisPid()).not.toBe(first);

    const log = logLines();
    expect(log.filter((l) => l.msg === 'redis-server exited unexpectedly; restarting')).toHaveLength(1);
    expect(log.filter((l) => l.msg === 'redis-server restarted')).toHaveLength(1);
    // every API error logged meanwhile was the 503, none a 500
    const apiErrors = log.filter((l) => l.msg === 'api error') as Array<{ err?: { code?: string } }>;
    expect(apiErrors.filter((l) => l.err?.code !== Codes.GW_REDIS_UNAVAILABLE)).toEqual([]);
    const clientErrors = log.filter((l) => /redis (client|connection) error/.test(l.msg)).length;
    console.log(`redis outage: ${clientErrors} redis client error lines logged`);

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(output).not.toContain('shutdown did not finish within the bound');
  }, 90_000);
});
