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
      .describe('admin: everything; operator: acts on alerts in scope; viewer: read-only'),
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

/** `auth:` and `users:` sections of gateway.yaml. Owned by the wall component. */
export const AuthConfigSchema = z
  .strictObject({
    sessionSecret: SecretRefSchema.optional().describe(
      'Key that signs session tokens; omitted: a random key in the data directory',
    ),
    sessionTtlMin: z.number().positive().default(720).describe('Session lifetime in minutes'),
    loginAttempts: z.number().int().min(1).default(5).describe('Failed logins per user and address …'),
    loginWindowSec: z
      .number()
      .positive()
      .default(300)
      .describe('… within this window before login is locked for it'),
  })
  .describe('Sessions and login limits');
export type AuthConfig = z.infer<typeof AuthConfigSchema>;
