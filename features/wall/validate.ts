import type { z } from 'zod';
import { Codes, GridwatchError, ValidationError, type InputIssue } from '../../core/errors.js';

/**
 * Deepest nesting a request body or socket payload may have. The deepest real payload (an
 * alert action) is 3 levels; 32 leaves room and keeps every later recursive walk (zod, the
 * issue report, logging) far from the stack limit, which a 10,000-deep array reached.
 */
export const MAX_INPUT_DEPTH = 32;

/** Nesting depth of a parsed JSON value, walked without recursion; stops past `max`. */
export function depthExceeds(input: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[input, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) stack.push([child, d + 1]);
  }
  return false;
}

function describeFound(input: unknown, path: PropertyKey[]): string {
  let v: unknown = input;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = Array.isArray(v) ? 'an array' : typeof v;
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** zod issues as InputIssues naming the request or event and the dotted field. */
export function toIssues(source: string, input: unknown, error: z.ZodError): InputIssue[] {
  return error.issues.map((i) => {
    const path = i.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replace(/\.\[/g, '[');
    const expected = 'expected' in i && typeof i.expected === 'string' ? i.expected : i.code;
    return { source, path, expected, found: describeFound(input, i.path), message: i.message };
  });
}

/**
 * Parses a boundary payload; throws ValidationError (GW_VALIDATION, 400) naming source and
 * field, or GW_VALIDATION for a payload nested deeper than MAX_INPUT_DEPTH.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  if (depthExceeds(input, MAX_INPUT_DEPTH)) {
    throw new GridwatchError(Codes.GW_VALIDATION, `${source}: nested deeper than ${MAX_INPUT_DEPTH} levels`, {
      field: '(root)',
    });
  }
  const r = schema.safeParse(input);
  if (!r.success) throw new ValidationError(source, toIssues(source, input, r.error));
  return r.data;
}
