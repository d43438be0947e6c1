import { isIP } from 'node:net';
import { z } from 'zod';
import { GridCodeSchema, SecretRefSchema } from '../../core/contracts/common-schema.js';

export const UserSchema = z
  .strictObject({
    username: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{2,64}$/)
      .describe('Login name'),
    displayName: z.string().min(1).max(100).describe('Name shown on claimed alerts, e.g. 张伟'),
    role: z
      .enum(['admin', 'operator', 'viewer'])
      .describe(
        'admin: the admin pages, plus cameras and alerts in no grid; operator: acts on alerts in scope; viewer: read-only. Every role sees only its scope of the grid tree',
      ),
    scope: GridCodeSchema.describe(
      'Grid subtree the user sees: the city code for all, a county code for one 综治中心, …',
    ),
    passwordHash: z
      .string()
      .regex(/^scrypt\$/, 'an scrypt hash made by `npm run hash-password`')
      .describe('scrypt$N$r$p$salt$hash, made by `npm run hash-password`'),
  })
  .describe('A wall user');
export type UserConfig = z.infer<typeof UserSchema>;

/** An address or CIDR range Express's `trust proxy` accepts, or one of its named ranges. */
function isProxyAddress(s: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(s)) return true;
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || !ip || !isIP(ip)) return false;
  if (bits === undefined) return true;
  const max = isIP(ip) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

/** `http:` section of gateway.yaml. Owned by the wall component. */
export const HttpConfigSchema = z
  .strictObject({
    host: z.string().default('127.0.0.1').describe('Bind address'),
    port: z
      .number()
      .int()
      .min(0)
      .max(65_535)
      .default(8080)
      .describe('HTTP port of the API and the wall; 0 = a free port'),
    publicUrl: z.string().url().optional().describe('URL operators open, when behind a proxy'),
    trustProxy: z
      .array(
        z
          .string()
          .refine(isProxyAddress, {
            message: 'an IP address, a CIDR range (10.0.0.0/8) or loopback/linklocal/uniquelocal',
          })
          .describe('Proxy address or range'),
      )
      .default([])
      .describe(
        'Reverse proxies whose X-Forwarded-For is believed (client address for login limits and logs); default none: the socket address counts',
      ),
  })
  .describe('HTTP server of the API and the video wall');
export type HttpConfig = z.infer<typeof HttpConfigSchema>;

/** `auth:` and `users:` sections of gateway.yaml. Owned by the wall component. */
export const AuthConfigSchema = z
  .strictObject({
    sessionSecret: SecretRefSchema.optional().describe(
      'Key that signs session tokens; omitted: a random key in the data directory',
    ),
    sessionTtlMin: z.number().positive().default(720).describe('Session lifetime in minutes'),
    loginAttempts: z.number().int().min(1).default(5).describe('Failed logins per user and address …'),
    loginAttemptsPerUser: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'Failed logins for one username from all addresses together (and from one address for all usernames) …; default 4 × loginAttempts',
      ),
    loginWindowSec: z
      .number()
      .positive()
      .default(300)
      .describe('… within this window before login is locked for it'),
  })
  .describe('Sessions and login limits');
export type AuthConfig = z.infer<typeof AuthConfigSchema>;

/** A tile URL template Leaflet expands: http(s), with {z}, {x} and {y}; {s} optional. */
function isTileTemplate(s: string): boolean {
  if (!/\{z\}/.test(s) || !/\{x\}/.test(s) || !/\{y\}/.test(s)) return false;
  try {
    // The placeholders are not valid in every URL part ({s} in the host): parse a filled-in copy.
    const u = new URL(s.replace(/\{s\}/g, 'a').replace(/\{[xyz]\}/g, '0'));
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

export const MapTilesSchema = z
  .strictObject({
    url: z
      .string()
      .refine(isTileTemplate, { message: 'an http(s) URL template with {z}, {x} and {y} ({s} optional)' })
      .describe(
        'Tile URL template, e.g. http://tiles.city.gov.cn/vec_w/{z}/{x}/{y}.png: a city Tianditu or intranet tile server',
      ),
    subdomains: z
      .string()
      .regex(/^[a-z0-9]+$/)
      .optional()
      .describe('Letters or digits {s} takes, e.g. 01234567 for Tianditu t0–t7; default abc'),
    crs: z
      .enum(['wgs84', 'gcj02'])
      .default('wgs84')
      .describe(
        'Datum of the tiles: wgs84 (also Tianditu CGCS2000, read as WGS-84) or gcj02 (AMap/Gaode-style mirrors; grids, alerts and cameras are then shifted to GCJ-02 by the server so they sit on the tiles)',
      ),
    attribution: z.string().max(200).default('').describe('Text shown in the map corner, e.g. 天地图'),
    maxZoom: z.number().int().min(1).max(22).default(18).describe('Highest zoom the tile server has'),
  })
  .describe(
    'Optional background tiles; without them the map draws grids on a blank background (works offline)',
  );
export type MapTilesConfig = z.infer<typeof MapTilesSchema>;

/** `wall:` section of gateway.yaml. Owned by the wall component. */
export const WallConfigSchema = z
  .strictObject({
    map: z.strictObject({ tiles: MapTilesSchema.optional() }).default({}).describe('The 一张图 grid map'),
  })
  .describe('The video wall page');
export type WallConfig = z.infer<typeof WallConfigSchema>;

/** Origins the page loads tiles from (one per {s} subdomain), for its img-src policy only. */
export function tileOrigins(tiles: Pick<MapTilesConfig, 'url' | 'subdomains'>): string[] {
  const subs = tiles.url.includes('{s}') ? [...(tiles.subdomains ?? 'abc')] : [''];
  const origins = subs.map((s) => new URL(tiles.url.replace(/\{s\}/g, s).replace(/\{[xyz]\}/g, '0')).origin);
  return [...new Set(origins)];
}
