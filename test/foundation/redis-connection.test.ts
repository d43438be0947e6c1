import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { openRedis } from '../../core/redis/redis-connection.js';
import { freePort } from '../../core/util/free-port.js';

const logger = createLogger({ pretty: false, level: 'silent' });
let dir: string;
const children: ChildProcess[] = [];

async function listening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port}`);
}

async function startRedis(args: string[]): Promise<number> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...args],
    {
      stdio: 'ignore',
    },
  );
  children.push(child);
  await listening(port);
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-redisconn-'));
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('configured redis (not embedded)', () => {
  it('uses a redis:// URL with the password from the environment, and never starts a child', async () => {
    const port = await startRedis(['--requirepass', 'pw-from-env']);
    const conn = await openRedis({
      config: { url: `redis://127.0.0.1:${port}`, password: { env: 'GW_TEST_REDIS_PW' } },
      dataDir: dir,
      baseDir: dir,
      logger,
      env: { GW_TEST_REDIS_PW: 'pw-from-env' },
    });
    expect(conn.embedded).toBe(false);
    expect(conn.describe()).not.toContain('pw-from-env');
    const c = new Redis(conn.url, conn.options);
    expect(await c.ping()).toBe('PONG');
    c.disconnect();
    await conn.close();
  });

  it('finds the master through a Sentinel group', async () => {
    const masterPort = await startRedis([]);
    const sentinelPort = await freePort();
    const conf = join(dir, 'sentinel.conf');
    await writeFile(
      conf,
      `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor gwmaster 127.0.0.1 ${masterPort} 1\n`,
    );
    await startRedis([]); // a decoy on another port: the client must not guess it
    const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    children.push(sentinel);
    await listening(sentinelPort);
    const conn = await openRedis({
      config: { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'gwmaster' },
      dataDir: dir,
      baseDir: dir,
      logger,
    });
    const c = new Redis(conn.url, { ...conn.options, retryStrategy: (n) => (n > 50 ? null : 100) });
    await c.set('gw:via-sentinel', 'yes');
    const direct = new Redis({ port: masterPort });
    expect(await direct.get('gw:via-sentinel')).toBe('yes');
    c.disconnect();
    direct.disconnect();
  });
});
