import type { ErrorRequestHandler, RequestHandler } from 'express';
import { Codes, GridwatchError, NotFoundError, type ErrorCode } from '../../core/errors.js';
import { redisUnavailableAs } from '../../core/redis/redis-unavailable.js';
import type { Logger } from '../../core/logger.js';

/**
 * Errors raised by Express and its middleware (body-parser, the router's param decoding,
 * serve-static) carry a 4xx `status` and `expose: true`. They are the client's fault: each maps
 * to a catalogue code so the reply is 4xx JSON like every other refusal, never a page with a
 * stack or a file path.
 */
function fromHttpError(err: unknown): GridwatchError | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; expose?: unknown };
  const status =
    typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 0;
  if (status < 400 || status >= 500) return null;
  const type = typeof e.type === 'string' ? e.type : '';
  let code: ErrorCode = Codes.GW_VALIDATION;
  let message = 'malformed request';
  if (status === 413 || type === 'entity.too.large') {
    code = Codes.GW_BODY_TOO_LARGE;
    message = 'request body too large';
  } else if (status === 415 || type === 'charset.unsupported' || type === 'encoding.unsupported') {
    code = Codes.GW_UNSUPPORTED_MEDIA_TYPE;
    message = 'body must be JSON in UTF-8 (Content-Type: application/json; charset=utf-8)';
  } else if (status === 404) {
    code = Codes.GW_NOT_FOUND;
    message = 'not found';
  } else if (type === 'entity.parse.failed') {
    message = 'body is not valid JSON';
  } else if (err instanceof URIError) {
    message = 'path is not valid percent-encoding';
  }
  return new GridwatchError(code, message, { field: type.startsWith('entity') ? '(body)' : '(path)' });
}

/** Any error as the GridwatchError the client sees; unexpected ones become GW_INTERNAL. */
export function asReplyError(raw: unknown): { error: GridwatchError; unexpected: boolean } {
  // A Redis outage is a 503 with its own code, not an unexpected 500.
  const err = redisUnavailableAs(raw);
  if (err instanceof GridwatchError) return { error: err, unexpected: false };
  const http = fromHttpError(err);
  if (http) return { error: http, unexpected: false };
  return {
    error: new GridwatchError(Codes.GW_INTERNAL, 'internal error (see the gateway log)'),
    unexpected: true,
  };
}

/**
 * The one error handler of the wall's HTTP server: /api/v1, /evidence, /media, platform
 * callbacks, static files. The body is the catalogue JSON, the status the catalogue's; the
 * message of an unexpected error stays in the log.
 */
export function createErrorHandler(opts: { logger: Logger }): ErrorRequestHandler {
  // Express tells error handlers by their four parameters: `_next` must stay.
  return (err, req, res, _next) => {
    const { error, unexpected } = asReplyError(err);
    if (unexpected) opts.logger.error({ err, url: req.originalUrl }, 'http error');
    // A catalogue 5xx is a known condition (a camera offline for live view, Redis away): one
    // warn line with its code, no stack.
    else if (error.status >= 500)
      opts.logger.warn(
        { code: error.code, message: error.message, url: req.originalUrl },
        'http request failed',
      );
    else opts.logger.debug({ code: error.code, url: req.originalUrl }, 'http refused');
    if (res.headersSent) {
      // A stream already under way (evidence, live video): all that is left is to cut it.
      res.destroy();
      return;
    }
    if (error.code === Codes.GW_RATE_LIMITED)
      res.setHeader('Retry-After', String(error.details?.retryAfterSec ?? 60));
    res.setHeader('Cache-Control', 'no-store');
    res.status(error.status).json(error.toJSON());
  };
}

/** JSON 404 for any path nothing served (instead of Express's HTML page). */
export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new NotFoundError('route', `${req.method} ${req.path}`));
  };
}
