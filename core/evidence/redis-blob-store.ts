import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { Codes, GridwatchError } from '../errors.js';
import { redisOptionsFromUrl } from '../redis/redis-url.js';
import { isBlobKey, type BlobInfo, type BlobStore } from './blob-store.js';

export interface RedisBlobStoreOptions {
  redisUrl: string;
  redisOptions?: RedisOptions;
  /** Key prefix, e.g. `gw:evidence`. */
  prefix: string;
  /** Every object expires after this (retention.evidenceDays): Redis does the sweeping. */
  ttlMs: number;
  /** Bytes per GETRANGE / APPEND round trip when streaming; default 256 KiB. */
  chunkBytes?: number;
  /** Opens the connection instead, e.g. an ioredis Cluster (every command here is one key, or one slot). */
  connect?: () => Redis | Cluster;
}

/**
 * Evidence in Redis, readable from every node that reaches the same Redis: the cluster option
 * that needs no shared filesystem. One string per object under `<prefix>:o:{<key>}` (the key
 * is its own hash tag, so an object and its temp key share a Redis Cluster slot and RENAME
 * works there), and one sorted set `<prefix>:index` (member key, score write time) for list.
 * Each object carries the retention TTL, so Redis removes old evidence by itself; stale index
 * members are pruned on write. A streamed put APPENDs to a temp key then RENAMEs it, so a
 * reader sees the whole object or none. Memory: an evidence JPEG is ~40-120 KB, so budget
 * Redis memory as evidence per day × evidenceDays (docs/deployment.md); maxmemory-policy must
 * be noeviction, as BullMQ already requires.
 */
export function createRedisBlobStore(o: RedisBlobStoreOptions): BlobStore {
  const chunk = o.chunkBytes ?? 256 * 1024;
  const redis: Redis | Cluster =
    o.connect?.() ?? new Redis({ ...redisOptionsFromUrl(o.redisUrl, o.redisOptions), lazyConnect: false });
  // Errors reach the callers of each command; this only keeps an 'error' event from crashing.
  redis.on('error', () => undefined);
  const index = `${o.prefix}:index`;
  const objKey = (key: string) => {
    if (!isBlobKey(key)) throw new GridwatchError(Codes.GW_EVIDENCE_PATH, 'bad evidence path');
    return `${o.prefix}:o:{${key}}`;
  };
  const expired = (key: string) =>
    new GridwatchError(Codes.GW_EVIDENCE_EXPIRED, `evidence ${key} is no longer kept`, {
      details: { evidence: key },
    });
  let closing: Promise<void> | null = null;

  const indexed = async (key: string) => {
    const now = Date.now();
    await redis.zadd(index, now, key);
    await redis.zremrangebyscore(index, '-inf', String(now - o.ttlMs));
  };

  return {
    kind: 'redis',
    async put(key, body) {
      const k = objKey(key);
      if (body instanceof Uint8Array) {
        await redis.set(k, Buffer.from(body.buffer, body.byteOffset, body.byteLength), 'PX', o.ttlMs);
      } else {
        const tmp = `${o.prefix}:t:{${key}}:${randomBytes(6).toString('hex')}`;
        try {
          let first = true;
          for await (const part of body as AsyncIterable<Buffer | string>) {
            const buf = typeof part === 'string' ? Buffer.from(part) : part;
            for (let i = 0; i < buf.length; i += chunk) {
              await redis.append(tmp, buf.subarray(i, i + chunk));
              // A writer that dies mid-stream leaves nothing behind for long.
              if (first) await redis.pexpire(tmp, 60_000);
              first = false;
            }
          }
          if (first) await redis.set(tmp, '', 'PX', 60_000);
          await redis.rename(tmp, k);
          await redis.pexpire(k, o.ttlMs);
        } catch (err) {
          await redis.del(tmp).catch(() => undefined);
          throw err;
        }
      }
      await indexed(key);
    },
    async get(key) {
      const k = objKey(key);
      const size = await redis.strlen(k);
      if (size === 0 && !(await redis.exists(k))) throw expired(key);
      async function* read() {
        for (let i = 0; i < size; i += chunk) {
          const part = await redis.getrangeBuffer(k, i, Math.min(size, i + chunk) - 1);
          // The object expired (or was deleted) while it was being read.
          if (part.length === 0) throw expired(key);
          yield part;
        }
      }
      return Readable.from(read());
    },
    async stat(key) {
      const k = objKey(key);
      const [size, exists] = [await redis.strlen(k), await redis.exists(k)];
      if (!exists) return null;
      const score = await redis.zscore(index, key);
      return { key, size, mtimeMs: score === null ? 0 : Number(score) };
    },
    async delete(key) {
      const n = await redis.del(objKey(key));
      await redis.zrem(index, key);
      return n > 0;
    },
    async *list(prefix = '') {
      const flat = await redis.zrange(index, '0', '-1', 'WITHSCORES');
      const found: Array<{ key: string; mtimeMs: number }> = [];
      for (let i = 0; i + 1 < flat.length; i += 2)
        if (flat[i]!.startsWith(prefix)) found.push({ key: flat[i]!, mtimeMs: Number(flat[i + 1]) });
      found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (const f of found) {
        const size = await redis.strlen(objKey(f.key));
        if (size > 0) yield { key: f.key, size, mtimeMs: f.mtimeMs } satisfies BlobInfo;
      }
    },
    close() {
      closing ??= (async () => {
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
