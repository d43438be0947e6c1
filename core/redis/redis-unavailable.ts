import { Codes, GridwatchError } from '../errors.js';

// What ioredis rejects a command with when the server is not there: the offline queue was
// flushed after maxRetriesPerRequest reconnect attempts, the socket closed under it, or the
// connection was refused. Matched by name and errno code (ioredis exports no classes for them).
const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError']);
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
const UNAVAILABLE_MESSAGES = [
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
];

/** True when err (or a cause of it) says Redis could not be reached, as opposed to a bad reply. */
export function isRedisUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof GridwatchError) return e.code === Codes.GW_REDIS_UNAVAILABLE;
    const code = (e as { code?: unknown }).code;
    if (UNAVAILABLE_NAMES.has(e.name)) return true;
    if (typeof code === 'string' && UNAVAILABLE_ERRNO.has(code)) return true;
    if (UNAVAILABLE_MESSAGES.some((m) => e instanceof Error && e.message.startsWith(m))) return true;
  }
  return false;
}

/**
 * The catalogue error for an error boundary (HTTP, socket ack): a Redis outage becomes
 * GW_REDIS_UNAVAILABLE (503, "retry shortly") instead of a 500; anything else is returned as is.
 */
export function redisUnavailableAs<T>(err: T): T | GridwatchError {
  if (err instanceof GridwatchError || !isRedisUnavailable(err)) return err;
  return new GridwatchError(Codes.GW_REDIS_UNAVAILABLE, undefined, { cause: err });
}

/**
 * What an HTTP boundary answers with for any thrown value: a catalogue error as is, a Redis
 * outage as GW_REDIS_UNAVAILABLE (503), anything else as GW_INTERNAL (500, the cause kept for
 * the log, never in the reply).
 */
export function boundaryError(err: unknown): GridwatchError {
  const r = redisUnavailableAs(err);
  return r instanceof GridwatchError
    ? r
    : new GridwatchError(Codes.GW_INTERNAL, 'internal error', { cause: err });
}
