import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { openRedis } from '../../core/redis/redis-connection.js';
import { spawnRedisServer } from '../helpers/redis.js';

const logger = createLogger({ pretty: false, level: 'silent' });
let dir: string;
const children: ChildProcess[] = [];

async function startRedis(args: string[], password?: string): Promise<number> {
  const r = await spawnRedisServer(
    (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...args],
    password === undefined ? {} : { password },
  );
  children.push(r.child);
  return r.port;
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
    const port = await startRedis(['--requirepass', 'pw-from-env'], 'pw-from-env');
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
    await startRedis([]); // a decoy on another port: the client must not guess it
    const sentinel = await spawnRedisServer(async (port) => {
      const conf = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        conf,
        `port ${port}\nbind 127.0.0.1\nsentinel monitor gwmaster 127.0.0.1 ${masterPort} 1\n`,
      );
      return [conf, '--sentinel'];
    });
    children.push(sentinel.child);
    const conn = await openRedis({
      config: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'gwmaster' },
      dataDir: dir,
      baseDir: dir,
      logger,
    });
    const c = new Redis(conn.url, { ...conn.options, retryStrategy: (n) => (n > 50 ? null : 100) });
    // ioredis retries a Sentinel that cannot name the master inside connect(), so a broken
    // fixture would hang here until the test timeout with nothing said: bound it and say why.
    const sentinelErrors: string[] = [];
    c.on('sentinelError', (e: Error) => sentinelErrors.push(e.message));
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `no master through Sentinel :${sentinel.port} in 20 s; ioredis said ${JSON.stringify(sentinelErrors.slice(-3))}; sentinel printed: ${sentinel.output().slice(-1_500)}`,
            ),
          ),
        20_000,
      );
    });
    try {
      await Promise.race([c.set('gw:via-sentinel', 'yes'), stuck]);
    } finally {
      clearTimeout(timer);
    }
    const direct = new Redis({ host: '127.0.0.1', port: masterPort });
    expect(await direct.get('gw:via-sentinel')).toBe('yes');
    c.disconnect();
    direct.disconnect();
  });
});
