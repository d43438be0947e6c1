import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { hostname } from 'node:os';
import express, { type Router } from 'express';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import type {
  AlertNotifier,
  AlertService,
  RecheckProbe,
  Suppression,
} from '../../core/contracts/alert-service.js';
import type { EvidenceStore } from '../../core/contracts/evidence-store.js';
import {
  FindingSchema,
  type Finding,
  type FindingSink,
  type FindingTypeInfo,
} from '../../core/contracts/finding.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import { resolveSecret } from '../../core/config/resolve-secret.js';
import { Codes, ClosedError, GridwatchError, ValidationError } from '../../core/errors.js';
import { createAlertEngine, type AlertEngine } from './alert-engine.js';
import { createAlertRelay, type AlertRelay } from './alert-relay.js';
import { createAlertService } from './alert-service.js';
import { createAlertStore } from './alert-store.js';
import { createCallbackRouter } from './callback-router.js';
import { createEvidenceRouter } from './evidence-links.js';
import type { DispatcherConfig, ForwardTarget } from './dispatcher-config.js';
import { createFeedback } from './feedback.js';
import { createForwarder, type ResolvedTarget } from './forwarder.js';
import { findingJobId, QUEUES, type QueueKey } from './queue-map.js';
import { createRechecker } from './recheck.js';
import { redisKeys } from './redis-keys.js';
import { sweepAlerts, sweepEvidence, type RetentionConfig } from './retention.js';

export interface CreateDispatcherOptions {
  config: DispatcherConfig;
  forwarding: ForwardTarget[];
  /** redis:// URL; password and Sentinel settings go in redisOptions (already resolved). */
  redisUrl: string;
  redisOptions?: RedisOptions;
  grids: () => GridIndex;
  cameras: () => readonly LoadedCamera[];
  typeInfo: (type: string) => FindingTypeInfo | undefined;
  /** Where alert events go in this process. Omitted: this process relays nothing (workers only). */
  notifier?: AlertNotifier;
  /** Evidence store; retention sweeps its `dir`. */
  evidence?: EvidenceStore & { readonly dir: string };
  /** Base URL the platform fetches evidence from (…/evidence/<relative path>). */
  publicUrl: string;
  /** Folder secrets files are relative to (gateway.yaml's). */
  baseDir: string;
  recheck?: RecheckProbe;
  retention: RetentionConfig;
  timeZone?: string;
  clock?: () => number;
  /**
   * Most findings the sink puts into one queue job (default 100). A finding submitted while no
   * add is waiting on Redis is queued alone at once; those arriving meanwhile go together into
   * the next job (group commit). 1 = one job per finding.
   */
  sinkBatchMax?: number;
  /** Run BullMQ workers in this process (default true). */
  workers?: boolean;
  /** Register the periodic tick and retention job schedulers (default true). */
  schedulers?: boolean;
  logger: Logger;
  metrics: Registry;
}

export interface Dispatcher {
  sink: FindingSink;
  alerts: AlertService;
  /** Platform status callbacks; mount e.g. at /api/platform → POST /api/platform/callbacks. */
  callbackRouter: Router;
  /** Signed evidence links for the platform; mount at /evidence (serves nothing without an evidence store). */
  evidenceRouter: Router;
  /** Called with the whole current list whenever a suppression appears or is lifted (any process). */
  onSuppressions(cb: (list: Suppression[]) => void): () => void;
  start(): Promise<void>;
  /** Escalation, forwarding outbox, suppression refresh; run by the scheduler, callable in tests. */
  tick(now?: number): Promise<{ escalated: number; outbox: number }>;
  /** Alert and evidence retention; hourly by the scheduler. */
  sweep(now?: number): Promise<void>;
  /** Cameras whose findings went to the fallback grid (outside every grid), for health. */
  unrouted(): Promise<{ cameraId: string; at: number; reasons: string[] }[]>;
  /** For tests and benchmarks: the engine under the service. */
  readonly engine: AlertEngine;
  readonly queues: Record<QueueKey, Queue>;
  close(): Promise<void>;
}

/** ioredis options from a URL, for BullMQ (which wants options to open its own connections). */
export function redisOptionsFromUrl(url: string, extra: RedisOptions = {}): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isFinite(db) && db > 0 ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // RESP2, as BullMQ 6 is tested with on ioredis 5; replies look the same under RESP3
    // "legacy" mapping, but blocking commands and pub/sub are simplest on RESP2.
    protocol: 2,
    ...extra,
  };
}

const OUTBOX_GRACE_MS = 10_000;

export function createDispatcher(o: CreateDispatcherOptions): Dispatcher {
  const { config } = o;
  const logger = o.logger.child({ component: 'dispatcher' });
  const clock = o.clock ?? Date.now;
  const keys = redisKeys(config.prefix);
  const redisOpts = redisOptionsFromUrl(o.redisUrl, o.redisOptions);
  const connection = redisOpts as ConnectionOptions;
  const redis = new Redis({ maxRetriesPerRequest: 3, ...redisOpts, enableAutoPipelining: true });
  redis.on('error', (err) => logger.error({ err }, 'redis connection error'));

  const targets: ResolvedTarget[] = o.forwarding.map((t) => ({
    ...t,
    secretValue: resolveSecret(t.secret, o.baseDir),
  }));
  const queues = Object.fromEntries(
    (Object.keys(QUEUES) as QueueKey[]).map((k) => [
      k,
      new Queue(QUEUES[k].name, { connection, prefix: config.prefix }),
    ]),
  ) as Record<QueueKey, Queue>;
  for (const q of Object.values(queues))
    q.on('error', (err) => logger.error({ err, queue: q.name }, 'queue error'));

  const failed = new Counter({
    name: 'gridwatch_dispatcher_jobs_failed_total',
    help: 'Jobs failed for good (bad payload, unknown camera, unroutable) by queue and code',
    labelNames: ['queue', 'code'],
    registers: [o.metrics],
  });
  const latency = new Histogram({
    name: 'gridwatch_dispatcher_finding_latency_seconds',
    help: 'From a finding entering the queue to its alert change being written',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [o.metrics],
  });

  const store = createAlertStore({ redis, keys, eventsMaxLen: config.events.maxLen });
  const engine = createAlertEngine({
    config,
    redis,
    keys,
    store,
    grids: o.grids,
    cameras: o.cameras,
    typeInfo: o.typeInfo,
    clock,
    logger,
    metrics: o.metrics,
  });
  const forwarder = createForwarder({
    config,
    targets,
    queue: queues.forward,
    redis,
    keys,
    store,
    engine,
    publicUrl: o.publicUrl,
    ackTtlSec: Math.ceil((o.retention.alertsDays + 30) * 86_400),
    clock,
    logger: logger.child({ part: 'forwarder' }),
    metrics: o.metrics,
  });
  const feedback = createFeedback({ config, redis, keys, eventsMaxLen: config.events.maxLen, logger });
  const rechecker = createRechecker({
    config,
    queue: queues.recheck,
    engine,
    store,
    forwarder,
    probe: o.recheck,
    redis,
    keys,
    clock,
    logger,
  });

  const listeners = new Set<(list: Suppression[]) => void>();
  async function refreshSuppressions(): Promise<Suppression[]> {
    const list = await feedback.list();
    engine.setSuppressed(list);
    return list;
  }
  async function suppressionsChanged(): Promise<void> {
    const list = await refreshSuppressions();
    for (const cb of listeners) {
      try {
        cb(list);
      } catch (err) {
        logger.error({ err }, 'suppression listener threw');
      }
    }
  }

  const alerts = createAlertService({
    redis,
    keys,
    store,
    engine,
    forwarder,
    feedback,
    grids: o.grids,
    clock,
    logger,
    onSuppressionsChanged: suppressionsChanged,
  });
  const evidenceRouter = o.evidence
    ? createEvidenceRouter({ targets, evidence: o.evidence, clock, logger })
    : express.Router();
  const callbackRouter = createCallbackRouter({
    targets,
    engine,
    store,
    redis,
    keys,
    rechecker,
    maxSkewSec: config.callbackMaxSkewSec,
    clock,
    logger: logger.child({ part: 'callbacks' }),
    metrics: o.metrics,
  });

  let closed = false;
  let closing: Promise<void> | null = null;
  const workers: Worker[] = [];
  let relay: AlertRelay | null = null;

  const isPermanent = (err: unknown): err is GridwatchError =>
    err instanceof GridwatchError &&
    (err.code === Codes.GW_UNKNOWN_CAMERA || err.code === Codes.GW_UNROUTABLE);

  async function processFinding(job: Job<unknown>): Promise<string> {
    if (job.name === 'batch') return processBatch(job);
    const p = FindingSchema.safeParse(job.data);
    if (!p.success) {
      failed.inc({ queue: 'findings', code: Codes.GW_VALIDATION });
      const msg = p.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      logger.error(
        { jobId: job.id, issues: p.error.issues.slice(0, 5) },
        'finding payload fails its schema; failed for good',
      );
      throw new UnrecoverableError(`finding job ${job.id}: ${msg}`);
    }
    try {
      const r = await engine.ingest(p.data);
      if (r.alert) latency.observe(Math.max(0, clock() - job.timestamp) / 1_000);
      return r.kind;
    } catch (err) {
      if (isPermanent(err)) {
        failed.inc({ queue: 'findings', code: err.code });
        logger.error(
          { jobId: job.id, code: err.code, message: err.message },
          'finding cannot become an alert; failed for good',
        );
        throw new UnrecoverableError(err.message);
      }
      throw err;
    }
  }

  /**
   * A finding of a batch that can never become an alert is queued again as a job of its own,
   * which then fails for good through processFinding (reason on the job, counted once there),
   * so the rest of the batch is not held back. Its job id comes from the finding id, so a
   * retried batch does not queue it twice.
   */
  async function failAlone(raw: unknown): Promise<void> {
    const id = (raw as { id?: unknown } | null)?.id;
    const ok = typeof id === 'string' && /^[A-Za-z0-9:_-]{1,200}$/.test(id);
    await queues.findings.add('finding', raw, {
      ...(ok ? { jobId: findingJobId(id) } : {}),
      attempts: 1,
      removeOnFail: { count: 10_000 },
    });
  }

  // Findings of batches in flight at once in this process, whatever the job concurrency: with
  // 100 jobs of 100 findings all at once, node CPU per finding rose from ~145-170 µs (≤ 1,600
  // in flight) to ~214 µs (10,000: bigger pipelines, more garbage) in the throughput bench.
  const FINDINGS_IN_FLIGHT = 256;
  let inFlight = 0;
  const gateWaiters: (() => void)[] = [];
  async function gate<T>(fn: () => Promise<T>): Promise<T> {
    while (inFlight >= FINDINGS_IN_FLIGHT) await new Promise<void>((r) => gateWaiters.push(r));
    inFlight++;
    try {
      return await fn();
    } finally {
      inFlight--;
      gateWaiters.shift()?.();
    }
  }

  /**
   * A batch from the sink. Each finding keeps its own guarantee: the commit script refuses a
   * finding id it has already applied (seen-set), so when the batch is retried — after a
   * transient error or because its process died holding it — the findings done before are
   * skipped, not doubled.
   */
  async function processBatch(job: Job<unknown>): Promise<string> {
    const p = QUEUES.findings.batchSchema.safeParse(job.data);
    if (!p.success) {
      failed.inc({ queue: 'findings', code: Codes.GW_VALIDATION });
      logger.error(
        { jobId: job.id, issues: p.error.issues.slice(0, 5) },
        'batch payload fails its schema; failed for good',
      );
      throw new UnrecoverableError(`finding batch ${job.id}: ${p.error.message}`);
    }
    const good: Finding[] = [];
    for (const raw of p.data.findings) {
      const r = FindingSchema.safeParse(raw);
      if (r.success) good.push(r.data);
      else await failAlone(raw);
    }
    const results = await engine.ingestMany(good, gate);
    const counts: Record<string, number> = {};
    let retry: unknown = null;
    const now = clock();
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') {
        counts[r.value.kind] = (counts[r.value.kind] ?? 0) + 1;
        if (r.value.alert) latency.observe(Math.max(0, now - job.timestamp) / 1_000);
      } else if (isPermanent(r.reason)) {
        counts.failed = (counts.failed ?? 0) + 1;
        await failAlone(good[i]);
      } else {
        retry ??= r.reason;
      }
    }
    if (retry !== null) throw retry;
    return JSON.stringify(counts);
  }

  // Group commit on the producer side: a finding submitted while no add is waiting on Redis is
  // queued alone at once (no added latency at low rates); findings that arrive meanwhile go
  // together into the next job. Per-job costs in BullMQ (add, lock, moveToFinished) are then
  // paid once per batch instead of once per finding when the rate is high.
  // One add in flight for big batches (the classic group commit: the batch grows with Redis's
  // latency, so the system batches more exactly when it is busier); more when batches are
  // capped small, so a cap of 1 still pipelines adds as before.
  const sinkBatchMax = Math.max(1, Math.floor(o.sinkBatchMax ?? 100));
  const maxAddsInFlight = Math.max(1, Math.ceil(64 / sinkBatchMax));
  type Pending = { f: Finding; waiters: { resolve: () => void; reject: (err: unknown) => void }[] };
  const pending = new Map<string, Pending>();
  const adding = new Set<Promise<void>>();
  const jobOpts = {
    attempts: 5,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { count: 1_000 },
    removeOnFail: { count: 10_000 },
  };
  function pump(): void {
    while (adding.size < maxAddsInFlight && pending.size > 0) {
      const take: Pending[] = [];
      for (const [id, e] of pending) {
        take.push(e);
        pending.delete(id);
        if (take.length >= sinkBatchMax) break;
      }
      const first = take[0]!.f;
      const add =
        take.length === 1
          ? queues.findings.add('finding', first, { ...jobOpts, jobId: findingJobId(first.id) })
          : queues.findings.add('batch', { findings: take.map((e) => e.f) }, jobOpts);
      const done: Promise<void> = add.then(
        () => {
          for (const e of take) for (const w of e.waiters) w.resolve();
        },
        (err: unknown) => {
          for (const e of take) for (const w of e.waiters) w.reject(err);
        },
      );
      adding.add(done);
      void done.finally(() => {
        adding.delete(done);
        pump();
      });
    }
  }

  async function processMaintenance(job: Job<unknown>): Promise<string> {
    const p = QUEUES.maintenance.schema.safeParse(job.data);
    if (!p.success) throw new UnrecoverableError(`maintenance job ${job.id}: ${p.error.message}`);
    if (p.data.task === 'tick') return JSON.stringify(await dispatcher.tick());
    await dispatcher.sweep();
    return 'swept';
  }

  function worker(k: QueueKey, fn: (job: Job<unknown>) => Promise<unknown>, concurrency: number): Worker {
    const w = new Worker(QUEUES[k].name, fn, {
      connection,
      prefix: config.prefix,
      concurrency,
      // Shows on each job (processedBy): which process handled a finding, for audits and tests.
      name: `${hostname()}:${process.pid}`,
      lockDuration: config.lockDurationMs,
      // Check for jobs of dead processes as often as a lock can expire, not BullMQ's fixed 30 s.
      stalledInterval: config.lockDurationMs,
      // A job whose process died is retried, not failed: the ingest script ignores a finding it already merged.
      maxStalledCount: 5,
      settings: { backoffStrategy: (attemptsMade: number) => forwarder.backoff(attemptsMade) },
    });
    w.on('error', (err) => logger.error({ err, queue: k }, 'worker error'));
    w.on('failed', (job, err) => {
      // Findings count their own permanent failures by code; other queues are counted here.
      if (k !== 'findings' && err instanceof UnrecoverableError)
        failed.inc({ queue: k, code: 'unrecoverable' });
      if (err instanceof UnrecoverableError || (job && job.attemptsMade >= (job.opts.attempts ?? 1))) {
        logger.warn({ queue: k, jobId: job?.id, err: err.message }, 'job failed for good');
      }
    });
    workers.push(w);
    return w;
  }

  const dispatcher: Dispatcher = {
    engine,
    queues,
    alerts,
    callbackRouter,
    evidenceRouter,
    sink: {
      async submit(f: Finding) {
        if (closed) throw new ClosedError('dispatcher');
        const p = FindingSchema.safeParse(f);
        if (!p.success) {
          throw new ValidationError(
            `finding ${typeof f?.id === 'string' ? f.id : '?'}`,
            p.error.issues.map((i) => ({
              source: 'finding',
              path: i.path.join('.'),
              expected: i.code,
              found: 'see message',
              message: i.message,
            })),
          );
        }
        await new Promise<void>((resolve, reject) => {
          // The same finding submitted again before it was queued rides on the same entry.
          const e = pending.get(p.data.id);
          if (e) e.waiters.push({ resolve, reject });
          else pending.set(p.data.id, { f: p.data, waiters: [{ resolve, reject }] });
          pump();
        });
      },
    },
    async unrouted() {
      const all = await redis.hgetall(keys.unrouted);
      return Object.entries(all).map(([cameraId, j]) => ({
        cameraId,
        ...(JSON.parse(j) as { at: number; reasons: string[] }),
      }));
    },
    onSuppressions(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    async start() {
      if (closed) throw new ClosedError('dispatcher');
      const list = await refreshSuppressions();
      for (const cb of listeners) cb(list);
      if (o.notifier) {
        const conn = new Redis({ ...redisOpts, maxRetriesPerRequest: null });
        conn.on('error', (err) => logger.error({ err }, 'relay redis connection error'));
        relay = createAlertRelay({
          redis: conn,
          stream: keys.events,
          group: config.events.group,
          notifier: o.notifier,
          onSuppression: () => {
            suppressionsChanged().catch((err: unknown) =>
              logger.error({ err }, 'suppression refresh failed'),
            );
          },
          logger: logger.child({ part: 'relay' }),
        });
        await relay.start();
      }
      if (o.workers ?? true) {
        worker('findings', processFinding, config.concurrency);
        worker('forward', (j) => forwarder.process(j), 10);
        worker('recheck', (j) => rechecker.process(j), 5);
        worker('maintenance', processMaintenance, 1);
      }
      if (o.schedulers ?? true) {
        await queues.maintenance.upsertJobScheduler(
          'tick',
          { every: config.tickSec * 1_000 },
          { name: 'tick', data: { task: 'tick' } },
        );
        await queues.maintenance.upsertJobScheduler(
          'retention',
          { every: 3_600_000 },
          { name: 'retention', data: { task: 'retention' } },
        );
      }
      logger.info(
        { workers: workers.length, relay: relay !== null, targets: targets.map((t) => t.id) },
        'dispatcher started',
      );
    },
    async tick(now = clock()) {
      const escalated = await engine.escalateDue(now);
      const due = await redis.zrangebyscore(keys.outbox, '-inf', now - OUTBOX_GRACE_MS, 'LIMIT', 0, 200);
      let outbox = 0;
      for (const member of due) {
        const [alertId, seqText, kind] = member.split('|');
        const a = alertId ? await store.get(alertId) : null;
        if (a && (kind === 'case.create' || kind === 'case.reopen')) {
          await forwarder.enqueue(a, Number(seqText), kind);
          outbox++;
        }
        await redis.zrem(keys.outbox, member);
      }
      await refreshSuppressions();
      return { escalated, outbox };
    },
    async sweep(now = clock()) {
      await sweepAlerts({ redis, keys, store, now, alertsDays: o.retention.alertsDays, logger });
      if (o.evidence) {
        await sweepEvidence({
          dir: o.evidence.dir,
          now,
          evidenceDays: o.retention.evidenceDays,
          evidenceMaxMb: o.retention.evidenceMaxMb,
          timeZone: o.timeZone ?? 'Asia/Shanghai',
          logger,
        });
      }
    },
    close() {
      closing ??= (async () => {
        closed = true;
        // Findings already accepted by submit() reach the queue before it closes.
        while (adding.size > 0) await Promise.allSettled([...adding]);
        const results = await Promise.allSettled([...workers.map((w) => w.close()), relay?.close()]);
        const more = await Promise.allSettled(Object.values(queues).map((q) => q.close()));
        for (const r of [...results, ...more])
          if (r.status === 'rejected') logger.warn({ err: r.reason }, 'error while closing the dispatcher');
        await redis.quit().catch((err: unknown) => logger.warn({ err }, 'redis quit failed'));
        logger.info('dispatcher closed');
      })();
      return closing;
    },
  };
  return dispatcher;
}
