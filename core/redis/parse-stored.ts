import type { z } from 'zod';
import { Codes, GridwatchError } from '../errors.js';

export type StoredParse<T> = { ok: true; value: T } | { ok: false; why: string };

/**
 * JSON that gridwatch itself wrote to Redis, read back through its schema. Stored data is a
 * boundary too: another version, another writer or a damaged key can put anything there, and a
 * bare `JSON.parse(...) as T` turns that into a SyntaxError (a 500 at the HTTP boundary, or a
 * dead stream consumer) or into a wrong value used as if checked. The caller decides what a
 * damaged record costs (skip it, show nothing, or readStored's error); `why` is safe to log.
 */
export function parseStored<S extends z.ZodTypeAny>(schema: S, raw: string): StoredParse<z.output<S>> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, why: `not JSON (${raw.length} bytes)` };
  }
  const p = schema.safeParse(json);
  if (p.success) return { ok: true, value: p.data as z.output<S> };
  const i = p.error.issues[0];
  return {
    ok: false,
    why: i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'does not match its schema',
  };
}

/** parseStored for a record the operation cannot go on without: GW_STORED_CORRUPT names it. */
export function readStored<S extends z.ZodTypeAny>(schema: S, raw: string, what: string): z.output<S> {
  const r = parseStored(schema, raw);
  if (r.ok) return r.value;
  throw new GridwatchError(Codes.GW_STORED_CORRUPT, `stored ${what} is damaged: ${r.why}`, {
    details: { what },
  });
}
