import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type Gateway } from '../../app/build-gateway.js';
import { createLogger } from '../../core/logger.js';
import { hashPassword } from '../../features/wall/password-hash.js';
import { startTestRedis } from '../helpers/redis.js';
import {
  GRID_FILE,
  logSink,
  PASSWORD,
  startHarness,
  type Harness,
  type LogSink,
} from './helpers/wall-harness.js';

/**
 * Login limits cannot be walked around with X-Forwarded-For: it is believed only from the
 * proxies in http.trustProxy (none by default), and a username is also limited across all
 * addresses together.
 */
async function guesses(url: string, username: string, n: number, password = 'wrong-guess') {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${url}/api/v1/session`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': `203.0.113.${i + 1}`,
      },
      body: JSON.stringify({ username, password }),
    });
    statuses.push(r.status);
    await r.body?.cancel();
  }
  return statuses;
}

const failedFrom = (logs: LogSink) =>
  logs.lines
    .map((l) => JSON.parse(l) as { msg?: string; address?: string })
    .filter((l) => l.msg === 'login failed')
    .map((l) => l.address);

describe('default: no proxy trusted', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ logLevel: 'info' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('40 guesses from loopback with 40 different X-Forwarded-For are throttled after loginAttempts', async () => {
    const statuses = await guesses(h.url, 'lina', 40);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    // The forged header was ignored: every failure counts against the socket's address.
    const addrs = new Set(failedFrom(h.logs));
    expect([...addrs].every((a) => a === '127.0.0.1' || a === '::ffff:127.0.0.1')).toBe(true);
    // The right password does not get through the lock either.
    expect((await guesses(h.url, 'lina', 1, PASSWORD))[0]).toBe(429);
  });
});

describe('http.trustProxy: [loopback] (a proxy on this host)', () => {
  let root: string;
  let redis: Awaited<ReturnType<typeof startTestRedis>>;
  let gw: Gateway;
  const { stream, sink } = logSink();

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gw-login-'));
    mkdirSync(join(root, 'cameras'));
    redis = await startTestRedis();
    const hash = await hashPassword(PASSWORD);
    writeFileSync(
      join(root, 'gateway.yaml'),
      `http: { host: 127.0.0.1, port: 0, trustProxy: [loopback] }\ndataDir: ./var\ngrids: { file: ${JSON.stringify(GRID_FILE)} }\n` +
        `users:\n  - { username: admin, displayName: 管理员, role: admin, scope: '3301', passwordHash: '${hash}' }\n`,
    );
    gw = await buildGateway({
      config: join(root, 'gateway.yaml'),
      roles: ['wall', 'dispatch'],
      redisUrl: redis.url,
      logger: createLogger({ level: 'info', destination: stream }),
    });
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('believes the proxy’s X-Forwarded-For, and still locks the username across all addresses', async () => {
    const statuses = await guesses(gw.url!, 'admin', 40);
    // 4 × loginAttempts (5) failures for one username from any addresses, then locked.
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    expect(new Set(failedFrom(sink)).size).toBe(20);
    expect(failedFrom(sink)[0]).toBe('203.0.113.1');
    expect((await guesses(gw.url!, 'admin', 1, PASSWORD))[0]).toBe(429);
  });

  it('refuses a trustProxy entry that is not an address, range or named range, naming the field', async () => {
    const { loadGatewayFile } = await import('../../app/gateway-file.js');
    const file = join(root, 'bad.yaml');
    writeFileSync(file, 'http: { trustProxy: [everyone, 10.0.0.0/99] }\n');
    const err = await loadGatewayFile(file).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/http\.trustProxy\[0\]/);
    expect(err?.message).toMatch(/http\.trustProxy\[1\]/);
  });
});
