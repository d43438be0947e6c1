import type { Logger } from '../logger.js';
import { isRedisUnavailable } from './redis-unavailable.js';

/**
 * Bounded logging of a Redis outage. Every ioredis client, BullMQ queue and worker emits an
 * `error` per failed reconnect or command: about 25 lines a second for a dispatcher, for as long
 * as Redis is away. Through this, an outage is one error line when it starts, one warn summary
 * per `summaryEveryMs` while it lasts (errors counted, not printed) and one info line when the
 * connection is back. Errors that are not "Redis unreachable" are logged as before.
 */
export interface RedisOutageLog {
  /** Logs `err` (with `fields` and `msg`) unless it is one more error of the current outage. */
  error(err: unknown, fields: Record<string, unknown>, msg: string): void;
  /** A connection is ready again: ends the outage with one line (duration, errors counted). */
  recovered(): void;
  /** Whether an outage is under way. */
  down(): boolean;
  /** Stops the summary timer (no line is logged). */
  close(): void;
}

export function createRedisOutageLog(opts: {
  logger: Logger;
  /** Who is affected, for the lines (e.g. `dispatcher`). */
  what: string;
  /** Summary period while down; default 60 s. */
  summaryEveryMs?: number;
  clock?: () => number;
}): RedisOutageLog {
  const clock = opts.clock ?? Date.now;
  const every = opts.summaryEveryMs ?? 60_000;
  let since: number | null = null;
  let errors = 0;
  let sinceSummary = 0;
  let timer: NodeJS.Timeout | null = null;

  const stopTimer = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };

  return {
    error(err, fields, msg) {
      if (!isRedisUnavailable(err)) {
        opts.logger.error({ err, ...fields }, msg);
        return;
      }
      errors++;
      sinceSummary++;
      if (since !== null) return;
      since = clock();
      sinceSummary = 0;
      // The message only: the stack of a refused connection says nothing and repeats.
      const reason = err instanceof Error ? err.message : String(err);
      opts.logger.error(
        { ...fields, reason },
        `${opts.what}: Redis unreachable; further errors are counted and summarised every ${Math.round(every / 1000)} s until it is back`,
      );
      timer = setInterval(() => {
        opts.logger.warn(
          { downSec: Math.round((clock() - since!) / 1000), errors, errorsSinceLast: sinceSummary },
          `${opts.what}: Redis still unreachable`,
        );
        sinceSummary = 0;
      }, every);
      timer.unref();
    },
    recovered() {
      if (since === null) return;
      opts.logger.info(
        { downSec: Math.round((clock() - since) / 1000), errors },
        `${opts.what}: Redis reachable again`,
      );
      since = null;
      errors = 0;
      stopTimer();
    },
    down: () => since !== null,
    close: stopTimer,
  };
}
