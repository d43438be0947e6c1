import type { z } from 'zod';
import { zodIssues } from '../../core/config/zod-issues.js';
import { Codes, GridwatchError, ValidationError } from '../../core/errors.js';

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
  if (!r.success) throw new ValidationError(source, zodIssues(source, r.error, input));
  return r.data;
}
