import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { Actor } from '../../core/contracts/alert-service.js';
import { resolveSecret } from '../../core/config/resolve-secret.js';
import { RateLimitedError, UnauthorizedError } from '../../core/errors.js';
import type { AuthConfig, UserConfig } from './wall-config.js';
import { verifyPassword } from './password-hash.js';

export interface Session {
  sid: string;
  actor: Actor;
  expiresAt: number;
  csrf: string;
}

export interface WallAuth {
  login(username: string, password: string, address: string): Promise<{ token: string; session: Session }>;
  /** Resolves a token to its live session; throws UnauthorizedError for missing, bad, expired or logged-out ones. */
  verify(token: string | undefined): Promise<Session>;
  logout(token: string): Promise<Session | null>;
  users(): Array<Omit<UserConfig, 'passwordHash'>>;
}

const KEY = 'gw:wall:';
// A fixed valid hash, checked when the username is unknown so the answer takes as long.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(86);

/** The key that signs session tokens: from config, else a random one kept in the data directory. */
export async function loadSessionSecret(
  cfg: AuthConfig,
  configDir: string,
  dataDir: string,
): Promise<Buffer> {
  if (cfg.sessionSecret) return Buffer.from(resolveSecret(cfg.sessionSecret, configDir), 'utf8');
  const path = join(dataDir, 'wall-session.key');
  try {
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const key = randomBytes(32);
    await mkdir(dataDir, { recursive: true });
    // 'wx' so two processes starting at once cannot both write different keys.
    try {
      await writeFile(path, key.toString('base64url'), { mode: 0o600, flag: 'wx' });
      return key;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
    }
  }
}

/**
 * Sessions: an HMAC-signed token `v1.<sid>.<exp>.<sig>` whose sid must also exist in Redis,
 * so logout works across gateway processes. Role and scope are read from the user config on
 * every check: removing a user or narrowing a scope takes effect at once.
 */
export function createWallAuth(opts: {
  config: AuthConfig;
  users: UserConfig[];
  secret: Buffer;
  redis: Redis;
  logger: Logger;
  now?: () => number;
}): WallAuth {
  const { config, secret, redis, logger } = opts;
  const now = opts.now ?? Date.now;
  const byName = new Map(opts.users.map((u) => [u.username, u]));
  const sign = (s: string): string => createHmac('sha256', secret).update(s).digest('base64url');
  const csrfFor = (sid: string): string => sign(`csrf.${sid}`);
  const toActor = (u: UserConfig): Actor => ({
    username: u.username,
    displayName: u.displayName,
    role: u.role,
    scope: u.scope,
  });

  async function checkLimit(keys: string[], limits: number[]): Promise<void> {
    const counts = await redis.mget(...keys);
    for (let i = 0; i < keys.length; i++) {
      if (Number(counts[i] ?? 0) >= (limits[i] ?? 0)) {
        const ttl = await redis.ttl(keys[i] as string);
        throw new RateLimitedError(Math.max(1, ttl));
      }
    }
  }

  return {
    async login(username, password, address) {
      const name = username.slice(0, 64);
      const userKey = `${KEY}login:${name}:${address}`;
      const addrKey = `${KEY}login-addr:${address}`;
      const nameKey = `${KEY}login-user:${name}`;
      // Per user+address stops guessing one password; per address stops spraying names; per
      // username across addresses stops one password guessed from many addresses (a botnet,
      // or forged X-Forwarded-For through a trusted proxy). The last can lock a user out for
      // a window: the price of not being guessable.
      const wide = config.loginAttemptsPerUser ?? config.loginAttempts * 4;
      await checkLimit([userKey, addrKey, nameKey], [config.loginAttempts, wide, wide]);
      const user = byName.get(username);
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
      if (!user || !ok) {
        const win = Math.ceil(config.loginWindowSec);
        await redis
          .multi()
          .incr(userKey)
          .expire(userKey, win, 'NX')
          .incr(addrKey)
          .expire(addrKey, win, 'NX')
          .incr(nameKey)
          .expire(nameKey, win, 'NX')
          .exec();
        logger.warn({ username: username.slice(0, 64), address }, 'login failed');
        throw new UnauthorizedError('wrong username or password');
      }
      await redis.del(userKey);
      const sid = randomBytes(18).toString('base64url');
      const expiresAt = now() + Math.round(config.sessionTtlMin * 60_000);
      await redis.set(`${KEY}sess:${sid}`, user.username, 'PX', expiresAt - now());
      const body = `v1.${sid}.${expiresAt}`;
      logger.info({ username, address }, 'login');
      return {
        token: `${body}.${sign(body)}`,
        session: { sid, actor: toActor(user), expiresAt, csrf: csrfFor(sid) },
      };
    },

    async verify(token) {
      if (!token) throw new UnauthorizedError('login required');
      const parts = token.split('.');
      if (parts.length !== 4 || parts[0] !== 'v1') throw new UnauthorizedError('malformed session token');
      const [, sid, exp, sig] = parts as [string, string, string, string];
      const want = Buffer.from(sign(`v1.${sid}.${exp}`));
      const got = Buffer.from(sig);
      if (want.length !== got.length || !timingSafeEqual(want, got))
        throw new UnauthorizedError('invalid session token');
      const expiresAt = Number(exp);
      if (!(expiresAt > now())) throw new UnauthorizedError('session expired');
      const username = await redis.get(`${KEY}sess:${sid}`);
      if (!username) throw new UnauthorizedError('session ended');
      const user = byName.get(username);
      if (!user) throw new UnauthorizedError('user no longer exists');
      return { sid, actor: toActor(user), expiresAt, csrf: csrfFor(sid) };
    },

    async logout(token) {
      let s: Session;
      try {
        s = await this.verify(token);
      } catch (err) {
        logger.debug({ err }, 'logout with an invalid session');
        return null;
      }
      await redis.del(`${KEY}sess:${s.sid}`);
      logger.info({ username: s.actor.username }, 'logout');
      return s;
    },

    users() {
      return opts.users.map(({ passwordHash: _h, ...u }) => u);
    },
  };
}
