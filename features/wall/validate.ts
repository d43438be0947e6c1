import type { z } from 'zod';
import { ValidationError, type InputIssue } from '../../core/errors.js';

function describeFound(input: unknown, path: PropertyKey[]): string {
  let v: unknown = input;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  if (v === undefined) return 'nothing';
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
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

/** Parses a boundary payload; throws ValidationError (GW_VALIDATION, 400) naming source and field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new ValidationError(source, toIssues(source, input, r.error));
  return r.data;
}
