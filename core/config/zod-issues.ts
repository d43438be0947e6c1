import type { z } from 'zod';
import type { InputIssue } from '../errors.js';
import { redactText } from '../util/redact.js';

export type PathKey = string | number;

/** Where a path is in the source text; the store fills it from YAML nodes or JSON offsets. */
export type Locate = (
  path: readonly PathKey[],
  opts?: { key?: string },
) => { line?: number; column?: number };

/** `['cameras', 3, 'zones', 0, 'polygon']` → `cameras[3].zones[0].polygon`. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' ? k : `.${k}`;
  }
  return out;
}

/** Keys whose values may be credentials (substring, any case: sessionSecret, apiToken, …). */
const SECRET_KEYS = /password|passwd|secret|token|credential|username|apikey|api_key|private_?key/i;

/** True when a value at `path` is to be hidden: somewhere under a credential key. */
export function isSecretPath(path: readonly PathKey[]): boolean {
  return path.some((k) => typeof k === 'string' && SECRET_KEYS.test(k));
}

const hidden = (v: unknown) => `${typeof v === 'string' ? 'a plain string' : `a ${typeof v}`} (value hidden)`;
const isScalar = (v: unknown) => v !== null && v !== undefined && typeof v !== 'object';

/**
 * A short, credential-free description of a value for the "found" part of a message. Scalars
 * under a credential key are never shown, whatever their type.
 */
export function describeValue(v: unknown, path: readonly PathKey[] = []): string {
  if (isScalar(v) && isSecretPath(path)) return hidden(v);
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    return keys.length
      ? `a mapping with keys ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}`
      : 'an empty mapping';
  }
  if (typeof v === 'string') {
    const s = redactText(v);
    return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}…` : s);
  }
  return `${typeof v} ${String(v)}`;
}

/** What a zod issue expected, in words an integrator reads ("a number <= 136"). */
export function expectedOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'tuple'
        ? 'a list'
        : `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    case 'too_small': {
      const op = issue.inclusive === false ? '>' : '>=';
      if (issue.origin === 'array' || issue.origin === 'set')
        return `at least ${String(issue.minimum)} items`;
      if (issue.origin === 'string') return `at least ${String(issue.minimum)} characters`;
      return `a number ${op} ${String(issue.minimum)}`;
    }
    case 'too_big': {
      const op = issue.inclusive === false ? '<' : '<=';
      if (issue.origin === 'array' || issue.origin === 'set') return `at most ${String(issue.maximum)} items`;
      if (issue.origin === 'string') return `at most ${String(issue.maximum)} characters`;
      return `a number ${op} ${String(issue.maximum)}`;
    }
    case 'invalid_format':
      // Custom regex messages are written as the expectation ("an rtsp:// URL").
      return issue.message.startsWith('Invalid')
        ? `a string matching ${issue.pattern ?? issue.format}`
        : issue.message;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return 'only the documented keys';
    case 'invalid_union': {
      const opts = (issue as { options?: unknown[] }).options;
      if (Array.isArray(opts)) return `one of ${opts.map((o) => JSON.stringify(o)).join(', ')}`;
      const last = issue.path[issue.path.length - 1];
      if (typeof last === 'string' && /password|secret/i.test(last)) {
        return 'a secret reference {env: NAME} or {file: PATH, key?: NAME}, never the value itself';
      }
      const types = new Set<string>();
      for (const branch of issue.errors) {
        const first = branch[0];
        if (first && first.path.length === 0 && first.code === 'invalid_type') types.add(first.expected);
        else types.add('the documented form');
      }
      return [...types].join(' or ');
    }
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    case 'custom': {
      // Refinements state their expectation in params (see camera-schema.ts).
      const exp = (issue.params as { expected?: unknown } | undefined)?.expected;
      return typeof exp === 'string' ? exp : 'a value that passes this check';
    }
    default:
      return issue.message;
  }
}

/**
 * Whether an invalid_type issue is for an absent value. Without `reportInput` the issue has no
 * `input` at all (a payload of the wrong type is not "missing"): zod's own message still says
 * what it received.
 */
function missingValue(issue: z.core.$ZodIssue): boolean {
  if ('input' in issue) return issue.input === undefined;
  return /received undefined$/.test(issue.message);
}

/** A short problem statement for a zod issue ("too big", "wrong type"). */
export function messageOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_type':
      return missingValue(issue) ? 'required field is missing' : 'wrong type';
    case 'invalid_union':
      if ((issue as { note?: string }).note === 'No matching discriminator') return 'unknown kind';
      return 'wrong form';
    case 'too_small':
      return 'too small';
    case 'too_big':
      return 'too big';
    case 'invalid_value':
      return 'not an allowed value';
    case 'invalid_format':
      return 'wrong format';
    default:
      return issue.message;
  }
}

/**
 * Turns zod issues into InputIssues: dotted path, expected, found (never a secret), and the
 * line/column `locate` finds for the path. `prefix` is prepended (an entry validated alone).
 * Parse with `{ reportInput: true }` so each issue carries the value it saw.
 */
export function zodToInputIssues(
  source: string,
  error: z.ZodError,
  locate: Locate,
  prefix: readonly PathKey[] = [],
  /** The validated value, for `found` when the parse did not use `reportInput`. */
  input?: unknown,
): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of error.issues) {
    const rel = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
    const path = [...prefix, ...rel];
    if (issue.code === 'unrecognized_keys') {
      // One issue per unknown key, each pointing at the key itself.
      for (const key of issue.keys) {
        out.push({
          source,
          ...locate(path, { key }),
          path: formatPath([...path, key]),
          expected: expectedOf(issue),
          found: `key ${JSON.stringify(key)}`,
          message: `unknown key ${JSON.stringify(key)}`,
        });
      }
      continue;
    }
    // A whole document that is a bare value is what a file holding only a secret looks like
    // (one dropped into a camera folder was echoed in the log and the admin page): hidden.
    const seen = 'input' in issue ? issue.input : valueAt(input, rel);
    let found = path.length === 0 && isScalar(seen) ? hidden(seen) : describeValue(seen, path);
    if (issue.code === 'invalid_union' && (issue as { note?: string }).note === 'No matching discriminator') {
      const disc = (issue as { discriminator?: string }).discriminator;
      const input = issue.input as Record<string, unknown> | undefined;
      found = describeValue(disc && input && typeof input === 'object' ? input[disc] : issue.input, path);
    }
    out.push({
      source,
      ...locate(path),
      path: formatPath(path),
      expected: expectedOf(issue),
      found,
      message: messageOf(issue),
    });
  }
  return out;
}

/**
 * For the checks a schema cannot express (known grid codes, simple polygons, parents): pushes
 * onto `out` an issue with the same source, position and dotted path zodToInputIssues gives.
 */
export function issuePusher(
  source: string,
  locate: Locate,
  prefix: readonly PathKey[],
  out: InputIssue[],
): (path: readonly PathKey[], expected: string, found: string, message: string) => void {
  return (path, expected, found, message) => {
    out.push({
      source,
      ...locate([...prefix, ...path]),
      path: formatPath([...prefix, ...path]),
      expected,
      found,
      message,
    });
  };
}

/** The value at a zod path inside `input` (undefined when absent). */
function valueAt(input: unknown, path: readonly PathKey[]): unknown {
  let v = input;
  for (const k of path)
    v = v !== null && typeof v === 'object' ? (v as Record<PathKey, unknown>)[k] : undefined;
  return v;
}

const NO_POSITION: Locate = () => ({});

/**
 * The one mapping of zod issues for payloads without file positions (HTTP bodies, socket
 * events, jobs, findings, plugin options): the same paths, expected and found (secrets
 * hidden) as config files get. `prefix` roots the paths (e.g. `['options']`).
 */
export function zodIssues(
  source: string,
  error: z.ZodError,
  input?: unknown,
  prefix: readonly PathKey[] = [],
): InputIssue[] {
  return zodToInputIssues(source, error, NO_POSITION, prefix, input);
}

/** The same issues as one line, `path: message; …`, for logs and replies across threads. */
export function zodIssuesText(error: z.ZodError, prefix: readonly PathKey[] = []): string {
  return zodIssues('', error, undefined, prefix)
    .map((i) => `${i.path || '(root)'}: ${i.message} (expected ${i.expected})`)
    .join('; ');
}
