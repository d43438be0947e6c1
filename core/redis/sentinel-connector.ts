import { Socket } from 'node:net';
import { SentinelConnector, type SentinelConnectionOptions } from 'ioredis';
import { Codes, GridwatchError } from '../errors.js';

/**
 * How long one Sentinel may take to accept a connection and to answer, in ms. A Sentinel that
 * is down refuses at once; this bounds one that is unreachable (a dead host) or hung (stopped:
 * the kernel accepts, nothing answers; ioredis sets no limit on either by default). A Sentinel
 * answers from memory, so half a second is ample on any network a gateway is deployed on.
 */
export const SENTINEL_TIMEOUT_MS = 500;

type ConnectResult = ReturnType<SentinelConnector['connect']>;
type ErrorEmitter = Parameters<SentinelConnector['connect']>[0];

/**
 * ioredis's SentinelConnector, but a round in which no Sentinel names the master ends the
 * connection attempt like a refused connection to a single Redis, so the client's ordinary
 * reconnect cycle applies to a Sentinel outage too.
 *
 * Why (ioredis 6.0.0, connectors/SentinelConnector/index.js and Redis.js `_connect`): the stock
 * connector retries the Sentinels *inside* connect() (sentinelRetryStrategy, default forever),
 * so the client stays "connecting", its close handler never runs, maxRetriesPerRequest never
 * flushes the offline queue, and every command waits forever. A finite sentinelRetryStrategy
 * alone is no better: connect() then rejects and `_connect` sets status "end", after which the
 * client never reconnects. Instead, after one round (sentinelRetryStrategy null), this resolves
 * with an already destroyed socket carrying the error as `firstError`: `_connect` then emits the
 * error and runs the close handler, which is what a refused connection does, so retryStrategy
 * reconnects (every 100 to 500 ms, never giving up) and maxRetriesPerRequest 0 rejects queued
 * commands with MaxRetriesPerRequestError (a 503 at the boundaries). Blocking readers (BullMQ
 * workers, maxRetriesPerRequest null) keep their commands queued and resend them on reconnect.
 * Nothing sets a commandTimeout on the data connection; the timeouts here are the Sentinel
 * clients' only. The other candidates fail: enableOfflineQueue off would also fail commands
 * issued while connecting at start, and wrappers or status listeners cannot reach the clients
 * BullMQ and the socket adapter build from options; this class travels in the options.
 */
export class FailFastSentinelConnector extends SentinelConnector {
  // `unknown` as ioredis's ConnectorConstructor declares it; a client passes its own options,
  // which hold sentinels and name (openRedis sets them beside this class).
  constructor(options: unknown) {
    const o = options as SentinelConnectionOptions;
    // This copy is the connector's alone: the client's own connectTimeout (to the master) is kept.
    super({
      ...o,
      sentinelRetryStrategy: () => null,
      connectTimeout: SENTINEL_TIMEOUT_MS,
      sentinelCommandTimeout: o.sentinelCommandTimeout ?? SENTINEL_TIMEOUT_MS,
    });
  }

  override async connect(emit: ErrorEmitter): ConnectResult {
    // ioredis leaves its Sentinel cursor after the one that last answered and, with retries
    // off, a reconnect would see an exhausted list and fail at once without asking anyone (a
    // master connection blip would then reject queued commands). Start every attempt with one
    // full round, the Sentinel that answered last first (what reset(true) does). The iterator
    // is private in the typings; the outage tests fail if an ioredis upgrade changes it.
    const it = (this as unknown as { sentinelIterator: { cursor: number; reset(first: boolean): void } })
      .sentinelIterator;
    if (it.cursor > 0) it.reset(true);
    try {
      return await super.connect(emit);
    } catch (err) {
      // disconnect() during the round: end as ioredis does (status "end", no reconnect).
      if (!this.connecting) throw err;
      this.firstError = new GridwatchError(
        Codes.GW_REDIS_UNAVAILABLE,
        'no Sentinel could name the Redis master; reconnecting',
        { cause: err },
      );
      const gone = new Socket();
      gone.destroy();
      return gone;
    }
  }
}
