import { randomBytes } from 'node:crypto';
import { UnrecoverableError, type Job } from 'bullmq';
import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Counter, type Registry } from 'prom-client';
import type { Alert } from '../../core/contracts/alert.js';
import type { DeadLetter } from '../../core/contracts/alert-service.js';
import { NotFoundError } from '../../core/errors.js';
import { isPermanentHttpFailure, retryDelayMs } from '../../core/util/delivery-retry.js';
import type { AlertEngine } from './alert-engine.js';
import type { AlertStore } from './alert-store.js';
import { buildCase } from './case-payload.js';
import { EVIDENCE_LINK_TTL_SEC, evidenceLink } from './evidence-links.js';
import type { DispatcherConfig, ForwardTarget } from './dispatcher-config.js';
import { forwardJobId, onJob, type JobData, type AnyJobHandler, type JobProducer } from './job-registry.js';
import {
  createForwardingStatus,
  forwardError,
  sendErrorText,
  withTarget,
  type ForwardingStatus,
} from './forwarding-status.js';
import type { RedisKeys } from './redis-keys.js';
import { signatureHeader, SIG_HEADERS } from './signing.js';

export type ResolvedTarget = ForwardTarget & { secretValue: string };
type ForwardJob = JobData<'forward', 'case.create'>;

const StoredDeadLetterSchema = z
  .strictObject({
    id: z.string().min(1).describe('<alert>.<target>.<seq>'),
    alertId: z.string().min(1).describe('Alert whose message failed'),
    target: z.string().min(1).describe('Forwarding target id'),
    attempts: z.number().int().nonnegative().describe('Attempts made'),
    lastError: z.string().max(500).describe('Last error, shortened'),
    at: z.number().int().nonnegative().describe('ms since epoch'),
    seq: z.number().int().min(1).describe('Message number'),
    kind: z.enum(['case.create', 'case.reopen']).describe('Message kind'),
    retries: z.number().int().nonnegative().describe('Times an admin queued it again'),
  })
  .describe('A case message that kept failing, kept for an admin');
export type StoredDeadLetter = z.infer<typeof StoredDeadLetterSchema> & DeadLetter;

export interface Forwarder {
  targetsFor(type: string): ResolvedTarget[];
  /** Queues one message for every target that takes the type; the job ids make a repeat harmless. */
  enqueue(alert: Alert, seq: number, kind: ForwardJob['kind']): Promise<void>;
  /** Handlers of the `forward` queue (case.create, case.reopen). */
  handlers(): AnyJobHandler[];
  backoff(attemptsMade: number): number;
  deadLetters(): Promise<StoredDeadLetter[]>;
  retryDeadLetter(id: string): Promise<StoredDeadLetter>;
  /** Per-alert and per-target forwarding status (what the wall and the admin see). */
  status: ForwardingStatus;
}

export function createForwarder(d: {
  config: DispatcherConfig;
  targets: ResolvedTarget[];
  producer: JobProducer;
  redis: RedisClient;
  keys: RedisKeys;
  store: AlertStore;
  engine: AlertEngine;
  publicUrl: string;
  /** How long acknowledgements (and case id → alert lookups) are kept: longer than alert retention. */
  ackTtlSec: number;
  clock: () => number;
  logger: Logger;
  metrics: Registry;
}): Forwarder {
  const { keys, redis, logger } = d;
  const sent = new Counter({
    name: 'gridwatch_dispatcher_forward_attempts_total',
    help: 'Attempts to send a case message to a grid platform, by target and outcome',
    labelNames: ['target', 'outcome'],
    registers: [d.metrics],
  });
  const byId = new Map(d.targets.map((t) => [t.id, t]));
  const status = createForwardingStatus({
    redis,
    keys,
    store: d.store,
    targets: d.targets,
    logger,
    metrics: d.metrics,
  });

  /** Puts one target's latest attempt on the alert; a failure here is logged, the send goes on. */
  async function noteOnAlert(
    alertId: string,
    targetId: string,
    patch: Parameters<typeof withTarget>[2],
  ): Promise<void> {
    await d.engine
      .update(alertId, (a) => {
        const now = d.clock();
        return {
          alert: {
            ...a,
            forwarding: withTarget(a, targetId, patch, now),
            updatedAt: now,
            version: a.version + 1,
          },
          audit: [],
        };
      })
      .catch((err: unknown) =>
        logger.warn(
          { err, alertId, target: targetId },
          'could not record the forwarding status on the alert',
        ),
      );
  }
  let install: string | null = null;
  async function installId(): Promise<string> {
    if (install) return install;
    await redis.set(keys.install, randomBytes(6).toString('hex'), 'NX');
    install = (await redis.get(keys.install)) ?? 'unknown';
    return install;
  }

  async function deadLetter(
    job: ForwardJob,
    t: ResolvedTarget,
    attempts: number,
    lastError: string,
    retries: number,
    httpStatus: number | null,
  ): Promise<void> {
    const dl: StoredDeadLetter = {
      id: `${job.alertId}.${t.id}.${job.seq}`,
      alertId: job.alertId,
      target: t.id,
      attempts,
      lastError: lastError.slice(0, 500),
      at: d.clock(),
      seq: job.seq,
      kind: job.kind,
      retries,
    };
    await redis.hset(keys.deadLetters, dl.id, JSON.stringify(dl));
    sent.inc({ target: t.id, outcome: 'dead_letter' });
    logger.error(
      { alertId: job.alertId, target: t.id, seq: job.seq, attempts, lastError },
      'case sent to the dead-letter list',
    );
    const err = forwardError(httpStatus, lastError, d.clock());
    await status.failed(t.id, job.alertId, job.seq, err, true);
    await d.engine
      .update(job.alertId, (a) => ({
        alert: {
          ...a,
          forwarding: withTarget(a, t.id, { status: 'failed', attempts, lastError: err }, d.clock()),
          updatedAt: d.clock(),
          version: a.version + 1,
        },
        audit: [
          {
            alertId: a.id,
            at: d.clock(),
            actor: 'system:forwarder',
            action: 'forward_failed',
            from: a.state,
            to: a.state,
            note: `${t.id} seq ${job.seq}: ${attempts} attempts, last error: ${lastError.slice(0, 300)}`,
          },
        ],
      }))
      .catch((err: unknown) =>
        logger.warn({ err, alertId: job.alertId }, 'could not audit the dead letter (alert gone?)'),
      );
  }

  const fwd: Forwarder = {
    targetsFor: (type) => d.targets.filter((t) => !t.types || t.types.includes(type)),

    async enqueue(alert, seq, kind) {
      const targets = fwd.targetsFor(alert.type);
      if (targets.length === 0) return;
      await d.producer.addBulk(
        'forward',
        targets.map((t) => ({
          name: kind,
          data: { alertId: alert.id, targetId: t.id, seq, kind } satisfies ForwardJob,
          opts: {
            jobId: forwardJobId(alert.id, t.id, seq),
            attempts: t.maxAttempts,
            backoff: { type: 'gridwatch' },
            removeOnComplete: { count: 1_000 },
            removeOnFail: { count: 5_000 },
          },
        })),
      );
      await status.queued(
        alert.id,
        seq,
        targets.map((t) => t.id),
        d.clock(),
      );
    },

    backoff(attemptsMade) {
      return retryDelayMs(attemptsMade, d.config.forwardBackoff);
    },

    handlers() {
      return [
        onJob('forward', 'case.create', 'forwarder.send', (m, job) => send(m, job)),
        onJob('forward', 'case.reopen', 'forwarder.send', (m, job) => send(m, job)),
      ];
    },

    async deadLetters() {
      const all = await redis.hvals(keys.deadLetters);
      const out: StoredDeadLetter[] = [];
      for (const j of all) {
        const p = StoredDeadLetterSchema.safeParse(JSON.parse(j));
        if (p.success) out.push(p.data);
        else
          logger.error({ issues: p.error.issues.slice(0, 3) }, 'stored dead letter does not parse; skipped');
      }
      return out.sort((a, b) => a.at - b.at);
    },

    async retryDeadLetter(id) {
      const j = await redis.hget(keys.deadLetters, id);
      if (j === null) throw new NotFoundError('dead letter', id);
      const dl = StoredDeadLetterSchema.parse(JSON.parse(j));
      const t = byId.get(dl.target);
      if (!t) throw new NotFoundError('forwarding target', dl.target);
      await d.producer.add(
        'forward',
        dl.kind,
        { alertId: dl.alertId, targetId: dl.target, seq: dl.seq, kind: dl.kind },
        {
          jobId: forwardJobId(dl.alertId, dl.target, dl.seq, dl.retries + 1),
          attempts: t.maxAttempts,
          backoff: { type: 'gridwatch' },
          removeOnComplete: { count: 1_000 },
          removeOnFail: { count: 5_000 },
        },
      );
      await redis.hdel(keys.deadLetters, id);
      await status.queued(dl.alertId, dl.seq, [dl.target], d.clock());
      await noteOnAlert(dl.alertId, dl.target, { status: 'pending', attempts: 0 });
      return dl;
    },

    status,
  };

  async function send(m: ForwardJob, job: Job): Promise<{ status: number | null; caseId: string | null }> {
    const t = byId.get(m.targetId);
    if (!t)
      throw new UnrecoverableError(`forward job ${job.id}: target ${m.targetId} is no longer configured`);
    const ackKey = keys.fwdAck(m.alertId, t.id, m.seq);
    const acked = await redis.get(ackKey);
    if (acked !== null) return { status: null, caseId: acked || null };
    if (m.seq > 1 && (await redis.exists(keys.fwdAck(m.alertId, t.id, m.seq - 1))) === 0) {
      // Per-alert order: message n waits until n-1 is acknowledged (retried with backoff).
      throw new Error(`waiting for message ${m.seq - 1} of alert ${m.alertId} to be acknowledged by ${t.id}`);
    }
    const alert = await d.store.get(m.alertId);
    if (!alert) throw new UnrecoverableError(`alert ${m.alertId} no longer exists`);
    const idem = `gw-${await installId()}:${m.alertId}:${m.seq}`;
    const payload = buildCase(alert, {
      kind: m.kind,
      seq: m.seq,
      idempotencyKey: idem,
      crs: t.crs,
      evidenceUrl: (rel) =>
        evidenceLink(d.publicUrl, rel, t, Math.floor(d.clock() / 1_000) + EVIDENCE_LINK_TTL_SEC),
      note: m.kind === 'case.reopen' ? '二次识别: 问题仍存在 (re-check: still present)' : null,
    });
    const body = JSON.stringify(payload);
    const ts = Math.floor(d.clock() / 1_000);
    const attempt = job.attemptsMade + 1;
    let httpStatus: number | null = null;
    let error: string;
    try {
      const res = await fetch(t.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          [SIG_HEADERS.timestamp]: String(ts),
          [SIG_HEADERS.signature]: signatureHeader(t.secretValue, ts, body),
          [SIG_HEADERS.target]: t.id,
          [SIG_HEADERS.idempotencyKey]: idem,
        },
        body,
        signal: AbortSignal.timeout(t.timeoutMs),
      });
      httpStatus = res.status;
      const text = await res.text();
      if (res.ok || res.status === 409) {
        // 409 = the platform already has this idempotency key: that is an acknowledgement.
        let caseId: string | null = null;
        try {
          const j: unknown = text ? JSON.parse(text) : null;
          const c = j && typeof j === 'object' ? (j as Record<string, unknown>).caseId : undefined;
          if (typeof c === 'string' && c.length > 0 && c.length <= 100) caseId = c;
        } catch (err) {
          logger.warn(
            { err, target: t.id, alertId: m.alertId },
            'platform acknowledged with a body that is not JSON; no case id recorded',
          );
        }
        await d.engine.update(m.alertId, (a) => {
          const now = d.clock();
          const note = `${t.id} accepted ${m.kind} seq ${m.seq}${caseId ? `, case ${caseId}` : ''} (attempt ${attempt})`;
          const set = [{ key: ackKey, value: caseId ?? '', ttlSec: d.ackTtlSec }];
          if (caseId) set.push({ key: keys.caseIndex(t.id, caseId), value: a.id, ttlSec: d.ackTtlSec });
          const patch = {
            caseId: a.caseId ?? caseId,
            forwarding: withTarget(
              a,
              t.id,
              { status: 'sent', attempts: attempt, sentAt: now, lastError: null },
              now,
            ),
            updatedAt: now,
            version: a.version + 1,
          };
          const to = a.state === 'confirmed' ? 'forwarded' : a.state;
          return {
            alert: { ...a, ...patch, state: to },
            audit: [
              {
                alertId: a.id,
                at: now,
                actor: `system:forwarder`,
                action: 'forward',
                from: a.state,
                to,
                note,
              },
            ],
            set,
          };
        });
        sent.inc({ target: t.id, outcome: 'ok' });
        await status.sent(t.id, m.alertId, m.seq, d.clock());
        return { status: httpStatus, caseId };
      }
      error = `HTTP ${res.status}: ${text.slice(0, 200)}`;
    } catch (err) {
      if (err instanceof NotFoundError) throw new UnrecoverableError(err.message);
      error = sendErrorText(err);
    }
    sent.inc({ target: t.id, outcome: 'error' });
    if (isPermanentHttpFailure(httpStatus) || attempt >= t.maxAttempts) {
      const retries = Number((job.id ?? '').match(/\.r(\d+)$/)?.[1] ?? 0);
      await deadLetter(m, t, attempt, error, retries, httpStatus);
      throw new UnrecoverableError(error);
    }
    // Still retrying: the alert says so, with the reason, so 待转发 is not a silent wait.
    const err = forwardError(httpStatus, error, d.clock());
    await status.failed(t.id, m.alertId, m.seq, err, false);
    await noteOnAlert(m.alertId, t.id, { status: 'pending', attempts: attempt, lastError: err });
    logger.warn(
      { target: t.id, alertId: m.alertId, seq: m.seq, attempt, error },
      'case not accepted; will retry',
    );
    throw new Error(error);
  }

  return fwd;
}
