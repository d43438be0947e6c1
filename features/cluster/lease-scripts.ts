/**
 * Lua scripts of the cluster registry and the camera leases. Every key a script touches is
 * passed in KEYS (never built inside the script), and the keys of one call share a hash tag:
 * a camera's lease and epoch carry `{cameraId}`, the node registry's two keys `{nodes}`. So
 * each script runs on Redis Cluster without CROSSSLOT.
 */
import { z } from 'zod';
import type { Cluster, Redis, Result } from 'ioredis';

/**
 * KEYS[1] lease, KEYS[2] epoch; ARGV[1] owner, ARGV[2] ttl ms → new epoch, or 0 when another
 * owner holds it. A lease still held by this very owner (it stopped the camera locally while
 * Redis was unreachable, and the lease outlived that) is re-adopted with its epoch unchanged:
 * nobody else claimed in between, or the value would differ.
 */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return 0`;

/** Compare-and-renew. KEYS[1] lease; ARGV[1] owner, ARGV[2] ttl ms → 1 renewed, 0 not ours. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** Compare-and-delete. KEYS[1] lease; ARGV[1] owner → 1 released, 0 not ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * Heartbeat and live-node listing in one round trip, on the Redis clock (node clocks may
 * disagree). KEYS[1] zset nodeId → last heartbeat ms, KEYS[2] hash nodeId → info JSON;
 * ARGV[1] nodeId, ARGV[2] info JSON, ARGV[3] node ttl ms. Prunes nodes older than the ttl.
 * → { now, id1, info1, lastBeat1, id2, info2, lastBeat2, ... }
 */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
local out = { tostring(now) }
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  out[#out + 1] = all[i]
  out[#out + 1] = redis.call('HGET', KEYS[2], all[i]) or ''
  out[#out + 1] = all[i + 1]
end
return out`;

/** Clean leave. KEYS as HEARTBEAT; ARGV[1] nodeId, ARGV[2] instance: only our own entry. */
const LEAVE = `
local info = redis.call('HGET', KEYS[2], ARGV[1])
if info and string.find(info, ARGV[2], 1, true) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    gwClusterClaim(lease: string, epoch: string, owner: string, ttlMs: number): Result<number, Context>;
    gwClusterRenew(lease: string, owner: string, ttlMs: number): Result<number, Context>;
    gwClusterRelease(lease: string, owner: string): Result<number, Context>;
    gwClusterHeartbeat(
      live: string,
      info: string,
      nodeId: string,
      infoJson: string,
      ttlMs: number,
    ): Result<string[], Context>;
    gwClusterLeave(live: string, info: string, nodeId: string, instance: string): Result<number, Context>;
  }
}

/** Registers the scripts on a connection (EVALSHA with a load on NOSCRIPT, by ioredis). */
export function defineLeaseScripts(redis: Redis | Cluster): void {
  redis.defineCommand('gwClusterClaim', { numberOfKeys: 2, lua: CLAIM });
  redis.defineCommand('gwClusterRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('gwClusterRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('gwClusterHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT });
  redis.defineCommand('gwClusterLeave', { numberOfKeys: 2, lua: LEAVE });
}

/** Key names; the hash tag makes each script's keys one slot. */
/**
 * What a node writes under `info` with each heartbeat (cluster.ts) and the observer and the
 * other nodes read back: one schema for the writer and both readers.
 */
export const NodeInfoSchema = z
  .object({
    capacity: z.number().int().nonnegative().describe('Cameras the node may hold (cluster.capacity)'),
    owned: z.number().int().nonnegative().describe('Cameras it holds a lease on now'),
    instance: z.string().describe('Random id of the running process (a restarted node is a new instance)'),
  })
  .strict()
  .describe('Heartbeat info of one ingest node (Redis hash field)');

export function clusterKeys(prefix: string) {
  return {
    live: `${prefix}:{nodes}:live`,
    info: `${prefix}:{nodes}:info`,
  };
}
