import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import type { Alert } from '../../core/contracts/alert.js';
import {
  type AlertForwardTarget,
  type AlertForwarding,
  type ForwardError,
  ForwardErrorSchema,
  type ForwardingOverview,
  type ForwardStatus,
} from '../../core/contracts/forwarding.js';
import type { AlertStore } from './alert-store.js';
import type { ForwardTarget } from './dispatcher-config.js';
import type { RedisKeys } from './redis-keys.js';
import { parseStored } from '../../core/redis/parse-stored.js';

/**
 * Where each confirmed alert's case stands (on the alert, so walls see it with the alert's own
 * updates) and where each target stands (backlog, last success, last failure: Redis, for the
 * admin). The forwarder and the alert service report to it; it decides nothing.
 */

/** The status of the whole case from its targets: one that gave up makes it failed. */
export function overallStatus(targets: AlertForwardTarget[]): ForwardStatus {
  if (targets.length === 0) return 'no_target';
  if (targets.some((t) => t.status === 'failed')) return 'failed';
  if (targets.every((t) => t.status === 'sent')) return 'sent';
  return 'pending';
}

/** What a confirm starts with: every target that takes the type, queued; or no target at all. */
export function initialForwarding(targetIds: string[], now: number): AlertForwarding {
  const targets = targetIds.map((target): AlertForwardTarget => ({
    target,
    status: 'pending',
    attempts: 0,
    lastError: null,
    sentAt: null,
  }));
  return { status: overallStatus(targets), at: now, targets };
}

/** The forwarding of `a` with one target's entry changed (added when missing, e.g. an older alert). */
export function withTarget(
  a: Alert,
  target: string,
  patch: Partial<Omit<AlertForwardTarget, 'target'>>,
  now: number,
): AlertForwarding {
  const list = [...(a.forwarding?.targets ?? [])];
  const i = list.findIndex((t) => t.target === target);
  const base: AlertForwardTarget = list[i] ?? {
    target,
    status: 'pending',
    attempts: 0,
    lastError: null,
    sentAt: null,
  };
  const next = { ...base, ...patch };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return { status: overallStatus(list), at: now, targets: list };
}

// Moved to core (shared with the departments' whistle notices); kept under their old names here.
export {
  classifyDeliveryError as classifyForwardError,
  deliveryError as forwardError,
  sendErrorText,
} from '../../core/util/delivery-retry.js';

export interface ForwardingStatus {
  /** Messages queued for these targets (backlog grows). */
  queued(alertId: string, seq: number, targetIds: string[], at: number): Promise<void>;
  sent(targetId: string, alertId: string, seq: number, at: number): Promise<void>;
  /** An attempt failed; `gaveUp` when the message went to the dead-letter list. */
  failed(targetId: string, alertId: string, seq: number, err: ForwardError, gaveUp: boolean): Promise<void>;
  /** A confirmed alert no target takes: counted, logged once, listed for the admin. */
  untargeted(alert: Alert, at: number): Promise<void>;
  overview(deadLetters: Array<{ target: string }>): Promise<ForwardingOverview>;
}

/** How many confirmed-without-target alerts the admin list keeps (newest). */
const UNTARGETED_KEEP = 1_000;

export function createForwardingStatus(d: {
  redis: RedisClient;
  keys: RedisKeys;
  store: AlertStore;
  targets: ForwardTarget[];
  logger: Logger;
  metrics: Registry;
}): ForwardingStatus {
  const { redis, keys, logger } = d;
  const member = (alertId: string, seq: number) => JSON.stringify([alertId, seq]);
  const untargetedTotal = new Counter({
    name: 'gridwatch_dispatcher_confirmed_without_target_total',
    help: 'Alerts confirmed while no forwarding target takes their type (they reach no platform)',
    labelNames: ['type'],
    registers: [d.metrics],
  });
  new Gauge({
    name: 'gridwatch_dispatcher_forward_backlog',
    help: 'Case messages queued or retrying per forwarding target, not yet acknowledged',
    labelNames: ['target'],
    registers: [d.metrics],
    async collect() {
      for (const t of d.targets) this.set({ target: t.id }, await redis.zcard(keys.fwdPending(t.id)));
    },
  });

  const endpoint = (url: string): string => {
    try {
      return new URL(url).origin;
    } catch {
      // The config schema checked it is a URL: this is not reached; show nothing of it anyway.
      return '(invalid)';
    }
  };

  return {
    async queued(alertId, seq, targetIds, at) {
      if (targetIds.length === 0) return;
      const m = redis.multi();
      for (const t of targetIds) m.zadd(keys.fwdPending(t), 'NX', String(at), member(alertId, seq));
      await m.exec();
    },
    async sent(targetId, alertId, seq, at) {
      await redis
        .multi()
        .zrem(keys.fwdPending(targetId), member(alertId, seq))
        .hset(keys.fwdTarget(targetId), 'lastOkAt', String(at))
        .exec();
    },
    async failed(targetId, alertId, seq, err, gaveUp) {
      const m = redis
        .multi()
        .hset(keys.fwdTarget(targetId), 'lastFailure', JSON.stringify({ ...err, alertId }));
      if (gaveUp) m.zrem(keys.fwdPending(targetId), member(alertId, seq));
      await m.exec();
    },
    async untargeted(alert, at) {
      untargetedTotal.inc({ type: alert.type });
      logger.warn(
        { alertId: alert.id, type: alert.type, gridCode: alert.gridCode },
        'alert confirmed but no forwarding target takes its type: it reaches no platform (add a target under forwarding: in gateway.yaml)',
      );
      await redis
        .multi()
        .zadd(keys.fwdUntargeted, String(at), alert.id)
        .zremrangebyrank(keys.fwdUntargeted, 0, -UNTARGETED_KEEP - 1)
        .exec();
    },
    async overview(deadLetters) {
      const targets = [];
      for (const t of d.targets) {
        const [backlog, oldest, info] = await Promise.all([
          redis.zcard(keys.fwdPending(t.id)),
          redis.zrange(keys.fwdPending(t.id), '0', '0', 'WITHSCORES'),
          redis.hgetall(keys.fwdTarget(t.id)),
        ]);
        let lastFailure: ForwardingOverview['targets'][number]['lastFailure'] = null;
        if (info.lastFailure) {
          const p = parseStored(ForwardErrorSchema.extend({ alertId: z.string() }), info.lastFailure);
          if (p.ok) lastFailure = p.value;
          else
            logger.warn(
              { target: t.id, why: p.why },
              'stored last failure of a target does not parse; not shown',
            );
        }
        targets.push({
          id: t.id,
          endpoint: endpoint(t.url),
          types: t.types ?? null,
          backlog,
          oldestPendingAt: oldest[1] === undefined ? null : Number(oldest[1]),
          deadLetters: deadLetters.filter((x) => x.target === t.id).length,
          lastOkAt: info.lastOkAt ? Number(info.lastOkAt) : null,
          lastFailure,
        });
      }
      const count = await redis.zcard(keys.fwdUntargeted);
      const ids = await redis.zrevrange(keys.fwdUntargeted, 0, 19, 'WITHSCORES');
      const recent = [];
      for (let i = 0; i < ids.length; i += 2) {
        const a = await d.store.get(ids[i]!);
        // Gone by retention: the entry goes too.
        if (!a) await redis.zrem(keys.fwdUntargeted, ids[i]!);
        else
          recent.push({ alertId: a.id, type: a.type, gridCode: a.gridCode, confirmedAt: Number(ids[i + 1]) });
      }
      return { targets, untargeted: { count, recent } };
    },
  };
}
