import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import { resolveSecret } from '../config/resolve-secret.js';
import type { RedisConfig } from './redis-config.js';
import { startEmbeddedRedis } from './embedded-redis.js';

export interface RedisConnection {
  /** redis:// URL without the password (safe to log). */
  url: string;
  /** Extra ioredis options: password, Sentinel group. Never logged. */
  options: RedisOptions;
  embedded: boolean;
  describe(): string;
  close(): Promise<void>;
}

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
}): Promise<RedisConnection> {
  const cfg = opts.config;
  if (!cfg || 'embedded' in cfg) {
    const r = await startEmbeddedRedis({
      dir: join(opts.dataDir, 'redis'),
      ...(cfg && 'embedded' in cfg ? { port: cfg.embedded.port } : {}),
      logger: opts.logger,
    });
    return {
      url: r.url,
      options: {},
      embedded: true,
      describe: () => `embedded ${r.url}`,
      close: () => r.close(),
    };
  }
  const password = cfg.password ? resolveSecret(cfg.password, opts.baseDir, opts.env) : undefined;
  if ('url' in cfg) {
    return {
      url: cfg.url,
      options: password ? { password } : {},
      embedded: false,
      describe: () => cfg.url,
      close: async () => undefined,
    };
  }
  return {
    // BullMQ and the socket adapter build connections from options; the URL only names the db.
    url: 'redis://sentinel',
    options: {
      sentinels: cfg.sentinels,
      name: cfg.name,
      ...(password ? { password, sentinelPassword: password } : {}),
    },
    embedded: false,
    describe: () => `sentinel ${cfg.name} via ${cfg.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`,
    close: async () => undefined,
  };
}
