import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor, AlertService } from '../../core/contracts/alert-service.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../core/errors.js';
import { inScope } from '../../core/grid/scope.js';
import type { AlertEngine } from './alert-engine.js';
import { alertTimelines, queryAlerts } from './alert-query.js';
import type { AlertStore } from './alert-store.js';
import type { Feedback } from './feedback.js';
import type { Forwarder } from './forwarder.js';
import { initialForwarding } from './forwarding-status.js';
import { applyAction, forwardMove } from './lifecycle.js';
import type { Rechecker } from './recheck.js';
import { outboxMember } from './outbox.js';
import type { RedisKeys } from './redis-keys.js';

function requireAdmin(actor: Actor, what: string): void {
  if (actor.role !== 'admin')
    throw new ForbiddenError(`${what} needs the admin role; ${actor.username} is ${actor.role}`);
}

/** AlertService for the wall: scope checks, the state machine, then the side effects of a move. */
export function createAlertService(d: {
  redis: RedisClient;
  keys: RedisKeys;
  store: AlertStore;
  engine: AlertEngine;
  forwarder: Forwarder;
  feedback: Feedback;
  rechecker: Rechecker;
  grids: () => GridIndex;
  clock: () => number;
  logger: Logger;
  onSuppressionsChanged: () => Promise<void>;
}): AlertService {
  const { store, engine, forwarder, feedback, logger } = d;
  const load = async (id: string, actor: Actor): Promise<Alert> => {
    const a = await store.get(id);
    // Out of scope reads as not found: an operator learns nothing about other districts' alerts.
    if (!a || !inScope(actor, a, d.grids())) throw new NotFoundError('alert', id);
    return a;
  };
  return {
    get: load,
    async audit(id, actor) {
      await load(id, actor);
      return store.audit(id);
    },
    list: (q) => queryAlerts(d.redis, d.keys, store, q),
    timelines: (q) => alertTimelines(d.redis, d.keys, store, q),
    async act(id, act, actor, expectedVersion) {
      await load(id, actor);
      const now = d.clock();
      let outbox: string | null = null;
      let untargeted = false;
      const alert = await engine.update(id, (a) => {
        // Checked inside the compare-and-set: the commit below only lands on this same version.
        if (expectedVersion !== undefined && a.version !== expectedVersion) {
          throw new ConflictError(
            `alert ${a.id} changed since you saw it (version ${expectedVersion}, now ${a.version}, ${a.state}); reload it and decide again`,
            { alertId: a.id, expected: expectedVersion, current: a.version, state: a.state },
          );
        }
        const change = applyAction(a, act, actor, now, engine.escalateAfterMs(a.type));
        const targets = act.action === 'confirm' ? forwarder.targetsFor(a.type).map((t) => t.id) : [];
        outbox = targets.length > 0 ? outboxMember({ alertId: a.id, seq: 1, kind: 'case.create' }) : null;
        untargeted = act.action === 'confirm' && targets.length === 0;
        // The case's standing starts with the confirm, in the same commit: 待转发, or 未配置目标
        // when no target takes the type (never a silent 已确认).
        if (act.action === 'confirm')
          change.alert = { ...change.alert, forwarding: initialForwarding(targets, now) };
        // Rejection honoured: the object is remembered in the same commit, so it is not raised
        // again while it stays (dedup.ts, matchRejected).
        const hset = change.alert.state === 'rejected' ? engine.rejectionMarker(change.alert) : undefined;
        return {
          ...change,
          ...(outbox ? { outbox: { member: outbox, at: now } } : {}),
          ...(hset ? { hset } : {}),
        };
      });
      if (outbox) {
        try {
          await forwarder.enqueue(alert, 1, 'case.create');
          await d.redis.zrem(d.keys.outbox, outbox);
        } catch (err) {
          // The outbox entry stays: the next tick queues the case.
          logger.error(
            { err, alertId: id },
            'could not queue the case for forwarding; the outbox retries it',
          );
        }
      }
      if (untargeted) await forwarder.status.untargeted(alert, now);
      if (act.action === 'reject') {
        const s = await feedback.onReject(alert, now);
        if (s) await d.onSuppressionsChanged();
      }
      return alert;
    },
    async advance(id, move, actor) {
      await load(id, actor);
      if (actor.role === 'viewer')
        throw new ForbiddenError(`${actor.username} is a viewer and cannot act on alerts`);
      let changed = false;
      const alert = await engine.update(id, (a) => {
        if (move.expectedVersion !== undefined && a.version !== move.expectedVersion) {
          throw new ConflictError(
            `alert ${a.id} changed since you saw it (version ${move.expectedVersion}, now ${a.version}, ${a.state}); reload it`,
            { alertId: a.id, expected: move.expectedVersion, current: a.version, state: a.state },
          );
        }
        const change = forwardMove(a, move.to, d.clock(), actor.username, move.action, move.note, {
          ...(move.assignment ? { assignment: move.assignment } : {}),
          ...(move.disposal ? { disposal: move.disposal } : {}),
        });
        changed = change !== null;
        return change;
      });
      if (changed && move.to === 'handled') {
        const scheduled = await d.rechecker.schedule(alert);
        logger.info({ alertId: id, scheduled, by: actor.username }, 'disposal reported');
      }
      return alert;
    },
    suppressions: () => feedback.list(),
    async liftSuppression(id, actor) {
      requireAdmin(actor, 'lifting a suppression');
      await feedback.lift(id, actor.username);
      await d.onSuppressionsChanged();
    },
    async deadLetters() {
      return (await forwarder.deadLetters()).map(({ id, alertId, target, attempts, lastError, at }) => ({
        id,
        alertId,
        target,
        attempts,
        lastError,
        at,
      }));
    },
    async forwardingOverview(actor) {
      requireAdmin(actor, 'the forwarding overview');
      return forwarder.status.overview(await forwarder.deadLetters());
    },
    async retryDeadLetter(id, actor) {
      requireAdmin(actor, 'retrying a dead letter');
      const dl = await forwarder.retryDeadLetter(id);
      logger.info({ deadLetter: dl, by: actor.username }, 'dead letter queued again');
    },
  };
}
