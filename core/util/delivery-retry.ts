import type { ForwardError, ForwardFailure } from '../contracts/forwarding.js';

/**
 * How a signed HTTP delivery to another system is retried: the dispatcher's case forwarding
 * and the departments' whistle notices share it, so both give up on the same answers and
 * back off alike.
 */

/** HTTP statuses worth retrying; any other 4xx means the receiver refuses this message as sent. */
export const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 425, 429]);

/** A 4xx the receiver will answer again whatever we do: retrying cannot help. */
export function isPermanentHttpFailure(httpStatus: number | null): boolean {
  return httpStatus !== null && httpStatus >= 400 && httpStatus < 500 && !RETRYABLE_4XX.has(httpStatus);
}

/** Delay before the next attempt after `attemptsMade` failed ones: doubling from baseMs, capped. */
export function retryDelayMs(attemptsMade: number, b: { baseMs: number; maxMs: number }): number {
  return Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, attemptsMade - 1));
}

/**
 * Sorts a send error into a code the wall can translate. A heuristic on Node's fetch errors
 * and the HTTP status: it has been checked against the errors the forwarder tests provoke
 * (refused port, unknown host, timeout, 4xx, 5xx); anything it does not know is `other`, so a
 * wrong guess shows a vaguer reason, never a wrong one about the receiver.
 */
export function classifyDeliveryError(httpStatus: number | null, error: string): ForwardFailure {
  if (httpStatus !== null && httpStatus >= 500) return 'http_5xx';
  if (httpStatus !== null && httpStatus >= 400) return 'http_4xx';
  if (/^waiting for message/.test(error)) return 'order_wait';
  if (/no longer configured/.test(error)) return 'target_removed';
  if (/TimeoutError|timed out|ETIMEDOUT|UND_ERR_(CONNECT|HEADERS|BODY)_TIMEOUT/i.test(error))
    return 'timeout';
  if (/ECONNREFUSED/.test(error)) return 'connection_refused';
  if (/ENOTFOUND|EAI_AGAIN/.test(error)) return 'dns';
  if (/fetch failed|ECONNRESET|EHOSTUNREACH|ENETUNREACH|socket|network/i.test(error)) return 'network';
  return 'other';
}

/** A failed fetch as one line: name, message and the cause's message (where Node puts the errno). */
export function sendErrorText(err: unknown): string {
  return err instanceof Error
    ? `${err.name}: ${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`
    : String(err);
}

/** The last failed attempt as stored and shown: code, status, time and the shortened text. */
export function deliveryError(httpStatus: number | null, error: string, at: number): ForwardError {
  return { kind: classifyDeliveryError(httpStatus, error), httpStatus, at, detail: error.slice(0, 300) };
}
