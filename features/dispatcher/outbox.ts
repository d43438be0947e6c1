import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AlertStore } from './alert-store.js';
import type { Forwarder } from './forwarder.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * The forwarding outbox: a change that must reach the platform (confirm → case.create, a
 * re-check that found the problem still there → case.reopen) writes an outbox entry in the same
 * atomic commit as the alert; the forward jobs are queued right after, and the entry removed.
 * If the process dies in between, `drain` (run by the tick) queues them later. Entries are JSON,
 * parsed with a schema, never split on a separator.
 */
export const OutboxEntrySchema = z
  .strictObject({
    alertId: z.string().min(1).max(200).describe('Alert whose message must be sent'),
    seq: z.number().int().min(1).describe('Message number (1 = the case)'),
    kind: z.enum(['case.create', 'case.reopen']).describe('Message kind'),
  })
  .describe('One message to queue for forwarding');
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

/** The sorted-set member of an entry: JSON in a fixed key order, so the same entry is the same member. */
export function outboxMember(e: OutboxEntry): string {
  return JSON.stringify({ alertId: e.alertId, seq: e.seq, kind: e.kind });
}

/** Entries younger than this are left to the process that wrote them. */
export const OUTBOX_GRACE_MS = 10_000;

export interface Outbox {
  /** Queues the forward jobs of entries older than the grace time; returns how many were queued. */
  drain(now: number): Promise<number>;
}

export function createOutbox(d: {
  redis: RedisClient;
  keys: RedisKeys;
  store: AlertStore;
  forwarder: Forwarder;
  logger: Logger;
}): Outbox {
  return {
    async drain(now) {
      const due = await d.redis.zrangebyscore(d.keys.outbox, '-inf', now - OUTBOX_GRACE_MS, 'LIMIT', 0, 200);
      let queued = 0;
      for (const member of due) {
        let entry: OutboxEntry | null = null;
        try {
          const p = OutboxEntrySchema.safeParse(JSON.parse(member));
          if (p.success) entry = p.data;
        } catch {
          entry = null;
        }
        if (!entry) {
          d.logger.error({ member: member.slice(0, 200) }, 'outbox entry does not parse; dropped');
          await d.redis.zrem(d.keys.outbox, member);
          continue;
        }
        const a = await d.store.get(entry.alertId);
        if (a) {
          await d.forwarder.enqueue(a, entry.seq, entry.kind);
          queued++;
        }
        await d.redis.zrem(d.keys.outbox, member);
      }
      return queued;
    },
  };
}
