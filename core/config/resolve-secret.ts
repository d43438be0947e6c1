import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { Codes, GridwatchError } from '../errors.js';
import type { SecretRef } from '../contracts/common-schema.js';

/**
 * Reads a secret from the environment or a secrets file. Error messages name the variable or
 * file and key, never the value.
 */
export function resolveSecret(ref: SecretRef, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined || v === '') {
      throw new GridwatchError(Codes.GW_SECRET_MISSING, `environment variable ${ref.env} is not set`, {
        field: 'env',
      });
    }
    return v;
  }
  const path = isAbsolute(ref.file) ? ref.file : join(baseDir, ref.file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new GridwatchError(Codes.GW_SECRET_MISSING, `secrets file ${path} cannot be read`, {
      field: 'file',
      cause,
    });
  }
  if (ref.key === undefined) return text.trim();
  const doc: unknown = parse(text);
  const v = doc && typeof doc === 'object' ? (doc as Record<string, unknown>)[ref.key] : undefined;
  if (typeof v !== 'string' || v === '') {
    throw new GridwatchError(Codes.GW_SECRET_MISSING, `secrets file ${path} has no string key ${ref.key}`, {
      field: 'key',
    });
  }
  return v;
}
