import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../core/redis/embedded-redis.js';

/** A real redis-server on a free port in a temp dir, for one test file. */
export async function startTestRedis(): Promise<EmbeddedRedis & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-redis-'));
  const r = await startEmbeddedRedis({ dir });
  return {
    url: r.url,
    port: r.port,
    get pid() {
      return r.pid;
    },
    supervisor: r.supervisor,
    dir,
    async close() {
      await r.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
