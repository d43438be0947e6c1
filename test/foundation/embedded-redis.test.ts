import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from '../../core/redis/embedded-redis.js';
import { DependencyMissingError } from '../../core/errors.js';

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
    const orphan = await startEmbeddedRedis({ dir });
    // no close(): as if the gateway had been SIGKILLed
    const next = await startEmbeddedRedis({ dir });
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
});
