/**
 * Every error gridwatch raises on purpose is a GridwatchError with a stable `code`.
 * Codes are part of the public contract (HTTP API bodies, logs, health): never rename one,
 * add a new one instead. Modelled on Fastify's lib/errors.js.
 */
export class GridwatchError extends Error {
  readonly code: string;
  /** HTTP status when the error crosses the API boundary. */
  readonly status: number;
  /** Field path at fault (dotted), when one field is to blame. */
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    opts: { status?: number; field?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? 500;
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
      'GW_CONFIG_INVALID',
      issues.length ? `${message}\n${issues.map(formatIssue).join('\n')}` : message,
      {
        status: 400,
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
      'GW_VALIDATION',
      `${source}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      {
        status: 400,
        ...(first ? { field: first.path } : {}),
        details: { issues },
      },
    );
    this.issues = issues;
  }
}

export class NotFoundError extends GridwatchError {
  constructor(what: string, id: string) {
    super('GW_NOT_FOUND', `${what} ${id} not found`, { status: 404, details: { what, id } });
  }
}

export class ConflictError extends GridwatchError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('GW_CONFLICT', message, { status: 409, ...(details ? { details } : {}) });
  }
}

export class InvalidTransitionError extends GridwatchError {
  constructor(alertId: string, from: string, action: string) {
    super('GW_INVALID_TRANSITION', `alert ${alertId} is ${from}: cannot ${action}`, {
      status: 409,
      details: { alertId, from, action },
    });
  }
}

export class UnauthorizedError extends GridwatchError {
  constructor(message = 'login required') {
    super('GW_UNAUTHORIZED', message, { status: 401 });
  }
}

export class ForbiddenError extends GridwatchError {
  constructor(message = 'outside your scope') {
    super('GW_FORBIDDEN', message, { status: 403 });
  }
}

export class RateLimitedError extends GridwatchError {
  constructor(retryAfterSec: number) {
    super('GW_RATE_LIMITED', `too many attempts; retry in ${retryAfterSec}s`, {
      status: 429,
      details: { retryAfterSec },
    });
  }
}

/** A system binary gridwatch needs is missing; the message names the Debian package. */
export class DependencyMissingError extends GridwatchError {
  constructor(binary: string, debianPackage: string) {
    super(
      'GW_DEPENDENCY_MISSING',
      `${binary} not found on PATH; install it with: sudo apt-get install -y ${debianPackage}`,
      { details: { binary, debianPackage } },
    );
  }
}

export class ClosedError extends GridwatchError {
  constructor(component: string) {
    super('GW_CLOSED', `${component} is closed`, { status: 503 });
  }
}
