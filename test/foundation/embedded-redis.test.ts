import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from '../../core/redis/embedded-redis.js';
import { Codes, DependencyMissingError, GridwatchError } from '../../core/errors.js';
import { freePort } from '../../core/util/free-port.js';
import { spawnRedisServer } from '../helpers/redis.js';

describe('embedded redis', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('starts on a free port with AOF, keeps data across a restart, and close() is idempotent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-emb-'));
    dirs.push(dir);
    const a = await startEmbeddedRedis({ dir });
    const c1 = new Redis(a.url);
    expect(await c1.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    await c1.set('gw:test', 'kept');
    c1.disconnect();
    await a.close();
    await a.close();
    expect(() => process.kill(a.pid!, 0)).toThrow();
    expect((await readdir(dir)).some((f) => f.startsWith('appendonly'))).toBe(true);

    const b = await startEmbeddedRedis({ dir });
    const c2 = new Redis(b.url);
    expect(await c2.get('gw:test')).toBe('kept');
    c2.disconnect();
    await b.close();
  });

  it('two instances get different ports', async () => {
    const d1 = await mkdtemp(join(tmpdir(), 'gw-emb-'));
    const d2 = await mkdtemp(join(tmpdir(), 'gw-emb-'));
    dirs.push(d1, d2);
    const [a, b] = await Promise.all([startEmbeddedRedis({ dir: d1 }), startEmbeddedRedis({ dir: d2 })]);
    expect(a.port).not.toBe(b.port);
    await Promise.all([a.close(), b.close()]);
  });

  it('stops a redis left running on the same data dir by a gateway that was killed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-emb-'));
    dirs.push(dir);
    // As a SIGKILLed gateway leaves it: a redis-server with its pidfile in the dir, and no
    // supervisor any more (an in-process supervisor would restart it).
    const orphan = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--unixsocket',
        join(dir, 'orphan.sock'),
        '--dir',
        dir,
        '--pidfile',
        join(dir, 'redis.pid'),
        '--save',
        '',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore', detached: true },
    );
    const orphanExit = new Promise((r) => orphan.once('exit', r));
    for (let i = 0; i < 200 && !existsSync(join(dir, 'redis.pid')); i++)
      await new Promise((r) => setTimeout(r, 25));
    const next = await startEmbeddedRedis({ dir });
    await orphanExit;
    expect(() => process.kill(orphan.pid!, 0)).toThrow();
    const c = new Redis(next.url);
    expect(await c.ping()).toBe('PONG');
    c.disconnect();
    await next.close();
  });

  it('names the Debian package when redis-server is missing', async () => {
    const err = await startEmbeddedRedis({
      dir: join(tmpdir(), 'gw-none'),
      binary: '/nonexistent/redis-server',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyMissingError);
    expect((err as DependencyMissingError).code).toBe('GW_DEPENDENCY_MISSING');
    expect((err as Error).message).toContain('apt-get install -y redis-server');
  });

  it('never takes another redis-server on its port for its own', async () => {
    const stranger = await spawnRedisServer((port) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'gw-emb-'));
    dirs.push(dir);
    try {
      // A configured port is not replaced: the start fails and says why, instead of answering
      // with the stranger's PONG and running the gateway on its data.
      const err = await startEmbeddedRedis({ dir, port: stranger.port, startTimeoutMs: 5_000 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GridwatchError);
      expect((err as GridwatchError).code).toBe(Codes.GW_REDIS_START);
      expect((err as Error).message).toMatch(/address already in use/i);

      // A port it chose itself and found taken is chosen again.
      const picks = [stranger.port];
      const r = await startEmbeddedRedis({
        dir,
        pickPort: async () => picks.shift() ?? (await freePort()),
      });
      expect(r.port).not.toBe(stranger.port);
      const c = new Redis(r.url);
      const info = await c.info('server');
      expect(info).toContain(`process_id:${r.pid}`);
      c.disconnect();
      await r.close();
    } finally {
      stranger.child.kill('SIGKILL');
    }
  });
});
