import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisOptionsFromUrl } from './redis-url.js';

/**
 * The one definition of "a Redis client" for code that must run on a single Redis, a Sentinel
 * group or Redis Cluster. Both ioredis classes share the command API; what differs is that on a
 * Cluster every script must declare its keys, and the keys of one script, MULTI or pipeline
 * must hash to one slot (the callers keep them under one hash tag).
 */
export type RedisClient = Redis | Cluster;

/** Where a Redis Cluster is: seed nodes (any masters; the client discovers the rest) and options. */
export interface RedisClusterTarget {
  nodes: { host: string; port: number }[];
  /** Cluster options; the password and the fail-fast settings sit under `redisOptions`. */
  options: ClusterOptions;
}

/**
 * A new client for a URL (with options) or, when `cluster` is given, for that Redis Cluster.
 * `extra` are per-node options (e.g. maxRetriesPerRequest: null for a blocking reader);
 * `top` are client options (enableAutoPipelining) that ioredis reads at the top level of both.
 */
export function createRedisClient(o: {
  url: string;
  options?: RedisOptions;
  cluster?: RedisClusterTarget;
  extra?: RedisOptions;
  top?: { enableAutoPipelining?: boolean };
}): RedisClient {
  if (o.cluster)
    return new Cluster(o.cluster.nodes, {
      ...o.cluster.options,
      ...o.top,
      redisOptions: { ...o.cluster.options.redisOptions, ...o.extra },
    });
  return new Redis({ ...redisOptionsFromUrl(o.url, o.options), ...o.extra, ...o.top });
}
