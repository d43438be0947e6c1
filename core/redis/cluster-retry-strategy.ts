import type { Cluster } from 'ioredis';
import { Codes, GridwatchError } from '../errors.js';

/**
 * clusterRetryStrategy for Redis Cluster clients: reconnect every 100 ms to 500 ms, never giving
 * up, and reject the commands queued meanwhile, as maxRetriesPerRequest 0 does for one client.
 *
 * Why (ioredis 6.0.0, cluster/index.js handleCloseEvent and sendCommand): when no node is
 * reachable the Cluster client queues every command in its own offline queue, which it flushes
 * only when it gives up for good (the strategy returning null: status "end", never back). The
 * node options' maxRetriesPerRequest do not reach that queue, so with a strategy that retries
 * forever every command waited forever; measured: a GET against a cluster whose one seed node
 * was down still pending after 5 s (test/foundation/redis-cluster-outage.test.ts). ioredis calls
 * this strategy with the client as `this` at every failed attempt, so it flushes the queue then.
 * Clients whose nodes wait without a retry limit (maxRetriesPerRequest null: BullMQ's blocking
 * readers, the alert relay) keep theirs, as a single client with that setting does.
 */
export function clusterRetryStrategy(this: Cluster, times: number): number {
  if (this.options.redisOptions?.maxRetriesPerRequest !== null) {
    // Private in the typings; the outage test fails if an ioredis upgrade renames it.
    (this as unknown as { flushQueue(err: Error): void }).flushQueue(
      new GridwatchError(Codes.GW_REDIS_UNAVAILABLE, 'no Redis Cluster node is reachable; reconnecting'),
    );
  }
  return Math.min(100 * times, 500);
}
