/**
 * Every error gridwatch raises on purpose is a GridwatchError whose code is in the one
 * catalogue (core/error-catalogue.ts): the code decides the HTTP status and the operator text.
 * Compare with instanceof or `err.code === Codes.GW_…`, never with a string literal (lint
 * enforces it). Modelled on Fastify's lib/errors.js.
 */
import { ERROR_CATALOGUE, ERROR_CODES, type ErrorCode } from './error-catalogue.js';

export { ERROR_CATALOGUE, ERROR_CODES, type ErrorCode } from './error-catalogue.js';

/** Each code as a constant: `Codes.GW_NOT_FOUND === 'GW_NOT_FOUND'`, checked by the compiler. */
export const Codes = Object.freeze(Object.fromEntries(ERROR_CODES.map((c) => [c, c]))) as {
  readonly [K in ErrorCode]: K;
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

export class GridwatchError extends Error {
  readonly code: ErrorCode;
  /** HTTP status when the error crosses the API boundary: the catalogue's, never per call site. */
  readonly status: number;
  /** Field path at fault (dotted), when one field is to blame. */
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message ?? ERROR_CATALOGUE[code].en, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    if (opts.field !== undefined) this.field = opts.field;
    if (opts.details !== undefined) this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** One problem found in an input (config file, CSV row, HTTP body, socket payload, job). */
export interface InputIssue {
  /** File path, or request/event name, the problem is in. */
  source: string;
  line?: number;
  column?: number;
  /** Dotted field path, e.g. `cameras[3].zones[0].polygon`. */
  path: string;
  expected: string;
  found: string;
  message: string;
}

export function formatIssue(i: InputIssue): string {
  const where =
    i.line === undefined ? i.source : `${i.source}:${i.line}${i.column === undefined ? '' : `:${i.column}`}`;
  return `${where} ${i.path || '(root)'}: ${i.message} (expected ${i.expected}, found ${i.found})`;
}

export class ConfigError extends GridwatchError {
  readonly issues: InputIssue[];
  constructor(message: string, issues: InputIssue[], cause?: unknown) {
    super(
      Codes.GW_CONFIG_INVALID,
      issues.length ? `${message}\n${issues.map(formatIssue).join('\n')}` : message,
      {
        cause,
      },
    );
    this.issues = issues;
  }
}

export class ValidationError extends GridwatchError {
  readonly issues: InputIssue[];
  constructor(source: string, issues: InputIssue[]) {
    const first = issues[0];
    super(
      Codes.GW_VALIDATION,
      `${source}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      {
        ...(first ? { field: first.path } : {}),
        details: { issues },
      },
    );
    this.issues = issues;
  }
}

export class NotFoundError extends GridwatchError {
  constructor(what: string, id: string) {
    super(Codes.GW_NOT_FOUND, `${what} ${id} not found`, { details: { what, id } });
  }
}

export class ConflictError extends GridwatchError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(Codes.GW_CONFLICT, message, { ...(details ? { details } : {}) });
  }
}

export class InvalidTransitionError extends GridwatchError {
  constructor(alertId: string, from: string, action: string) {
    super(Codes.GW_INVALID_TRANSITION, `alert ${alertId} is ${from}: cannot ${action}`, {
      details: { alertId, from, action },
    });
  }
}

export class UnauthorizedError extends GridwatchError {
  constructor(message = 'login required') {
    super(Codes.GW_UNAUTHORIZED, message, {});
  }
}

export class ForbiddenError extends GridwatchError {
  constructor(message = 'outside your scope') {
    super(Codes.GW_FORBIDDEN, message, {});
  }
}

export class RateLimitedError extends GridwatchError {
  constructor(retryAfterSec: number) {
    super(Codes.GW_RATE_LIMITED, `too many attempts; retry in ${retryAfterSec}s`, {
      details: { retryAfterSec },
    });
  }
}

/** A system binary gridwatch needs is missing; the message names the Debian package. */
export class DependencyMissingError extends GridwatchError {
  constructor(binary: string, debianPackage: string) {
    super(
      Codes.GW_DEPENDENCY_MISSING,
      `${binary} not found on PATH; install it with: sudo apt-get install -y ${debianPackage}`,
      { details: { binary, debianPackage } },
    );
  }
}

export class ClosedError extends GridwatchError {
  constructor(component: string) {
    super(Codes.GW_CLOSED, `${component} is closed`, {});
  }
}
