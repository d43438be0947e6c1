import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Codes, GridwatchError } from '../../core/errors.js';

const KEYLEN = 64;
const DEFAULTS = { N: 16_384, r: 8, p: 1 } as const;
const FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

function derive(password: string, salt: Buffer, opts: ScryptOptions, keylen: number): Promise<Buffer> {
  // Async scrypt runs on libuv's thread pool, so a login never blocks the event loop.
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keylen, { ...opts, maxmem: 256 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$16384$8$1$<salt b64url>$<hash b64url>`, keylen 64, 16-byte random salt. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new GridwatchError(Codes.GW_PASSWORD_EMPTY, 'password is empty');
  const salt = randomBytes(16);
  const key = await derive(password, salt, DEFAULTS, KEYLEN);
  return `scrypt$${DEFAULTS.N}$${DEFAULTS.r}$${DEFAULTS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Checks the hash's shape without deriving anything (config validation, startup). */
export function parsePasswordHash(hash: string): {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
} {
  const m = FORMAT.exec(hash);
  if (!m) throw new GridwatchError(Codes.GW_PASSWORD_HASH, 'not an scrypt$N$r$p$salt$hash string');
  const [, n, r, p, salt, key] = m as unknown as [string, string, string, string, string, string];
  const N = Number(n);
  if (!Number.isInteger(Math.log2(N)) || N < 1024 || N > 2 ** 20) {
    throw new GridwatchError(
      Codes.GW_PASSWORD_HASH,
      `scrypt N=${n} must be a power of two between 1024 and 2^20`,
    );
  }
  return {
    N,
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt, 'base64url'),
    key: Buffer.from(key, 'base64url'),
  };
}

/** Timing-safe comparison against a stored hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const h = parsePasswordHash(hash);
  const key = await derive(password, h.salt, { N: h.N, r: h.r, p: h.p }, h.key.length);
  return key.length === h.key.length && timingSafeEqual(key, h.key);
}
