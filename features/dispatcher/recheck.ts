import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import type { Alert } from '../../core/contracts/alert.js';
import type { RecheckProbe } from '../../core/contracts/alert-service.js';
import type { AlertEngine } from './alert-engine.js';
import type { AlertStore } from './alert-store.js';
import type { DispatcherConfig } from './dispatcher-config.js';
import type { Forwarder } from './forwarder.js';
import { onJob, type JobData, type AnyJobHandler, type JobProducer } from './job-registry.js';
import { outboxMember } from './outbox.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * 二次识别: after the platform reports a case handled, look at the camera again. Still there →
 * the alert reopens (confirmed, fresh evidence) and the platform gets a case.reopen message;
 * gone → recorded, and closed when the type is configured to close itself.
 */
export interface Rechecker {
  schedule(a: Alert): Promise<boolean>;
  /** Handler of the `recheck` queue. */
  handlers(): AnyJobHandler[];
}

export function createRechecker(d: {
  config: DispatcherConfig;
  producer: JobProducer;
  engine: AlertEngine;
  store: AlertStore;
  forwarder: Forwarder;
  probe: RecheckProbe | undefined;
  redis: RedisClient;
  keys: RedisKeys;
  clock: () => number;
  logger: Logger;
}): Rechecker {
  const { engine, logger } = d;
  return {
    async schedule(a) {
      const rc = d.config.recheck[a.type];
      if (!rc) return false;
      const round = (a.recheck?.round ?? 0) + 1;
      await d.producer.add(
        'recheck',
        'recheck',
        { alertId: a.id, round },
        {
          jobId: `rc.${a.id}.${round}`,
          delay: rc.delaySec * 1_000,
          attempts: 3,
          backoff: { type: 'exponential', delay: 5_000 },
          removeOnComplete: { count: 1_000 },
          removeOnFail: { count: 1_000 },
        },
      );
      return true;
    },
    handlers() {
      return [onJob('recheck', 'recheck', 'rechecker.process', (data) => process(data))];
    },
  };

  async function process({ alertId, round }: JobData<'recheck', 'recheck'>): Promise<string> {
    const a = await d.store.get(alertId);
    if (!a) return 'gone';
    if (a.state !== 'handled' && a.state !== 'verified') return `skipped: alert is ${a.state}`;
    const rc = d.config.recheck[a.type];
    if (!d.probe || !rc) {
      await engine.update(alertId, (cur) => ({
        alert: { ...cur, updatedAt: d.clock(), version: cur.version + 1 },
        audit: [
          {
            alertId,
            at: d.clock(),
            actor: 'system:recheck',
            action: 'recheck',
            from: cur.state,
            to: cur.state,
            note: 'no re-check probe configured in this process; not checked',
          },
        ],
      }));
      return 'no probe';
    }
    const r = await d.probe.check(a);
    const now = d.clock();
    const result = { at: now, present: r.present, score: r.score, round };
    const note = r.why
      ? `round ${round}: ${r.present ? 'not passed' : 'passed'}: ${r.why}`
      : `round ${round}: ${r.present ? 'still present' : 'gone'} (score ${r.score.toFixed(2)})`;
    if (r.present) {
      const member = outboxMember({ alertId, seq: round + 1, kind: 'case.reopen' });
      const reopened = await engine.update(alertId, (cur) => {
        if (cur.state !== 'handled' && cur.state !== 'verified') return null;
        return {
          alert: {
            ...cur,
            state: 'confirmed',
            recheck: result,
            evidence: { first: cur.evidence.first, latest: r.evidence ?? cur.evidence.latest },
            lastSeen: now,
            updatedAt: now,
            version: cur.version + 1,
          },
          audit: [
            {
              alertId,
              at: now,
              actor: 'system:recheck',
              action: 'reopen',
              from: cur.state,
              to: 'confirmed',
              note,
            },
          ],
          outbox: { member, at: now },
        };
      });
      if (reopened.state === 'confirmed') {
        await d.forwarder.enqueue(reopened, round + 1, 'case.reopen');
        await d.redis.zrem(d.keys.outbox, member);
      }
      return 'reopened';
    }
    await engine.update(alertId, (cur) => {
      if (cur.state !== 'handled' && cur.state !== 'verified') return null;
      const to = rc.autoClose ? 'closed' : cur.state;
      return {
        alert: { ...cur, state: to, recheck: result, updatedAt: now, version: cur.version + 1 },
        audit: [
          {
            alertId,
            at: now,
            actor: 'system:recheck',
            action: rc.autoClose ? 'recheck_close' : 'recheck',
            from: cur.state,
            to,
            note,
          },
        ],
        ...(to === 'closed' ? { escalateAt: null } : {}),
      };
    });
    logger.info({ alertId, round, present: false, autoClose: rc.autoClose }, 're-check: problem gone');
    return rc.autoClose ? 'closed' : 'gone';
  }
}
