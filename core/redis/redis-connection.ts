import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { resolveSecret } from '../config/resolve-secret.js';
import type { RedisConfig } from './redis-config.js';
import { startEmbeddedRedis } from './embedded-redis.js';
import { FailFastSentinelConnector } from './sentinel-connector.js';
import { clusterRetryStrategy } from './cluster-retry-strategy.js';
import type { RedisClusterTarget } from './redis-client.js';

export interface RedisConnection {
  /** redis:// URL without the password (safe to log). */
  url: string;
  /** Extra ioredis options: password, Sentinel group. Never logged. */
  options: RedisOptions;
  embedded: boolean;
  /** Set for `redis.cluster`: clients are ioredis Cluster clients (core/redis/redis-client.ts). */
  cluster?: RedisClusterTarget;
  /**
   * False while the embedded redis-server is down or restarting (its supervisor knows at once);
   * always true for an external Redis, whose reachability only a command can tell.
   */
  up(): boolean;
  describe(): string;
  close(): Promise<void>;
}

/**
 * Options every client built from `options` gets, so a request that needs Redis while it is
 * down fails fast (the HTTP and socket boundaries answer 503 GW_REDIS_UNAVAILABLE) instead of
 * waiting through ioredis's default 20 reconnect attempts (12–21 s measured) while callers pile up:
 * - maxRetriesPerRequest 0: a command queued while disconnected is rejected at the next failed
 *   reconnect attempt (within retryStrategy's delay). 0, not 1: BullMQ warns on any truthy value
 *   for its blocking worker connections (it sets null there itself). The producers that must not
 *   lose work retry themselves (the detection pipeline resubmits a finding on the next frame).
 * - retryStrategy: reconnect every 100 ms, growing to 500 ms, never giving up: the supervisor
 *   brings the embedded redis back in about a second, and clients should be back right after.
 * The offline queue stays on: commands issued while connecting at start must not fail.
 * A Sentinel group and a Cluster need one more part each for this to hold while no master or
 * node can be reached (sentinel-connector.ts, cluster-retry-strategy.ts).
 */
export const FAIL_FAST_REDIS_OPTIONS: Readonly<RedisOptions> = Object.freeze({
  maxRetriesPerRequest: 0,
  retryStrategy: (times: number) => Math.min(100 * times, 500),
});

/**
 * Resolves gateway.yaml's `redis:` into something every component can connect with. No
 * section (or `embedded:`) starts a private redis-server child with AOF under dataDir/redis.
 */
export async function openRedis(opts: {
  config: RedisConfig | undefined;
  dataDir: string;
  baseDir: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  metrics?: Registry;
}): Promise<RedisConnection> {
  const cfg = opts.config;
  if (!cfg || 'embedded' in cfg) {
    const r = await startEmbeddedRedis({
      dir: join(opts.dataDir, 'redis'),
      ...(cfg && 'embedded' in cfg ? { port: cfg.embedded.port } : {}),
      logger: opts.logger,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
    return {
      url: r.url,
      options: { ...FAIL_FAST_REDIS_OPTIONS },
      embedded: true,
      up: () => r.supervisor.up(),
      describe: () => `embedded ${r.url}`,
      close: () => r.close(),
    };
  }
  const password = cfg.password ? resolveSecret(cfg.password, opts.baseDir, opts.env) : undefined;
  if ('url' in cfg) {
    return {
      url: cfg.url,
      options: { ...FAIL_FAST_REDIS_OPTIONS, ...(password ? { password } : {}) },
      embedded: false,
      up: () => true,
      describe: () => cfg.url,
      close: async () => undefined,
    };
  }
  if ('cluster' in cfg) {
    const nodes = cfg.cluster.nodes;
    return {
      // Nothing may connect to this URL: cluster clients are built from `cluster`.
      url: 'redis://cluster',
      options: { ...FAIL_FAST_REDIS_OPTIONS, ...(password ? { password } : {}) },
      cluster: {
        nodes,
        options: {
          // The client re-fetches the slot map on failure every 100 ms to 500 ms, never giving up,
          // and fails the commands queued meanwhile (without it they waited forever: see there).
          clusterRetryStrategy,
          redisOptions: { maxRetriesPerRequest: 0, ...(password ? { password } : {}) },
        },
      },
      embedded: false,
      up: () => true,
      describe: () => `cluster via ${nodes.map((s) => `${s.host}:${s.port}`).join(',')}`,
      close: async () => undefined,
    };
  }
  return {
    // BullMQ and the socket adapter build connections from options; the URL only names the db.
    url: 'redis://sentinel',
    options: {
      ...FAIL_FAST_REDIS_OPTIONS,
      sentinels: cfg.sentinels,
      name: cfg.name,
      // Without it a Sentinel outage hangs every command forever (see the class).
      Connector: FailFastSentinelConnector,
      ...(password ? { password, sentinelPassword: password } : {}),
    },
    embedded: false,
    up: () => true,
    describe: () => `sentinel ${cfg.name} via ${cfg.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`,
    close: async () => undefined,
  };
}
