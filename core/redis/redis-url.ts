import type { RedisOptions } from 'ioredis';

/** ioredis options from a URL, for BullMQ (which wants options to open its own connections). */
export function redisOptionsFromUrl(url: string, extra: RedisOptions = {}): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isFinite(db) && db > 0 ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // RESP2, as BullMQ 6 is tested with on ioredis 5; replies look the same under RESP3
    // "legacy" mapping, but blocking commands and pub/sub are simplest on RESP2.
    protocol: 2,
    ...extra,
  };
}
