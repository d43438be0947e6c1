import { Queue, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
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
import { fenceEpochKey } from '../../core/contracts/fence.js';
import type { FindingSink, FindingTypeInfo } from '../../core/contracts/finding.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import { resolveSecret } from '../../core/config/resolve-secret.js';
import { ClosedError } from '../../core/errors.js';
import { z } from 'zod';
import { createAlertEngine, type AlertEngine } from './alert-engine.js';
import { createAlertRelay, type AlertRelay } from './alert-relay.js';
import { createAlertService } from './alert-service.js';
import { createAlertStore } from './alert-store.js';
import { createCallbackRouter } from './callback-router.js';
import { createEvidenceRouter } from './evidence-links.js';
import type { DispatcherConfig, ForwardTarget } from './dispatcher-config.js';
import { createFeedback } from './feedback.js';
import { createForwarder, type ResolvedTarget } from './forwarder.js';
import { findingHandlers } from './finding-jobs.js';
import { createFindingSink } from './finding-sink.js';
import {
  bindHandlers,
  createJobProducer,
  onJob,
  processorFor,
  QUEUE_NAMES,
  type AnyJobHandler,
  type JobName,
  type JobProducer,
  type QueueData,
  type QueueName,
  RefusedJobError,
  type TypedQueues,
} from './job-registry.js';
import { createOutbox } from './outbox.js';
import {
  createRedisClient,
  type RedisClient,
  type RedisClusterTarget,
} from '../../core/redis/redis-client.js';
import { redisOptionsFromUrl } from '../../core/redis/redis-url.js';
import { createRechecker } from './recheck.js';
import { createRedisOutageLog } from '../../core/redis/redis-outage-log.js';
import { clusterPrefix, redisKeys } from './redis-keys.js';
import { sweepAlerts, sweepEvidence, type RetentionConfig } from './retention.js';

export interface CreateDispatcherOptions {
  /**
   * Cluster mode: the cluster key prefix. Findings stamped with a lease epoch older than the
   * camera's current one (core/contracts/fence.ts) are dropped.
   */
  fencePrefix?: string;
  config: DispatcherConfig;
  forwarding: ForwardTarget[];
  /** redis:// URL; password and Sentinel settings go in redisOptions (already resolved). */
  redisUrl: string;
  redisOptions?: RedisOptions;
  /**
   * Redis Cluster (core/redis openRedis with `redis.cluster`): every client is an ioredis
   * Cluster and the keys and queues live under the prefix as a hash tag (`{gw}`).
   */
  redisCluster?: RedisClusterTarget;
  grids: () => GridIndex;
  cameras: () => readonly LoadedCamera[];
  typeInfo: (type: string) => FindingTypeInfo | undefined;
  /** Where alert events go in this process. Omitted: this process relays nothing (workers only). */
  notifier?: AlertNotifier;
  /** Evidence store; retention sweeps its `dir`. */
  evidence?: EvidenceStore & { readonly dir: string | null };
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
  /** The BullMQ queues, typed by the job catalogue (tests and benchmarks inspect them). */
  readonly queues: TypedQueues;
  /** Validated producer: every job added through it is checked against the catalogue first. */
  readonly jobs: JobProducer;
  close(): Promise<void>;
}

const UnroutedSchema = z
  .strictObject({
    at: z.number().int().describe('ms since epoch of the last fallback-routed finding'),
    reasons: z.array(z.string()).describe('Why each routing rule was skipped'),
  })
  .describe('A camera whose findings go to the fallback grid');

/**
 * The dispatcher as one composition of its parts: the finding sink (batching, finding-sink.ts),
 * the job catalogue and handlers (job-registry.ts, finding-jobs.ts, forwarder.ts, recheck.ts),
 * the alert engine and store, the outbox (outbox.ts), the relay to walls, and the routers.
 */
export function createDispatcher(o: CreateDispatcherOptions): Dispatcher {
  const { config } = o;
  const logger = o.logger.child({ component: 'dispatcher' });
  const clock = o.clock ?? Date.now;
  const cluster = o.redisCluster;
  // One prefix for the dispatcher's keys and its BullMQ queues; a hash tag on Redis Cluster.
  const prefix = cluster ? clusterPrefix(config.prefix) : config.prefix;
  const keys = redisKeys(prefix);
  const redisOpts = redisOptionsFromUrl(o.redisUrl, o.redisOptions);
  // One line per outage for every connection of the dispatcher, not one per failed reconnect.
  const outage = createRedisOutageLog({ logger, what: 'dispatcher' });
  const redis: RedisClient = cluster
    ? createRedisClient({ url: o.redisUrl, cluster, top: { enableAutoPipelining: true } })
    : new Redis({ maxRetriesPerRequest: 3, ...redisOpts, enableAutoPipelining: true });
  // BullMQ opens its own connections from options, but from a Cluster only by duplicating a
  // client: queues share this one, each worker duplicates it for its blocking reads (which
  // need maxRetriesPerRequest null). Closed after the queues and workers.
  const bullClient = cluster
    ? createRedisClient({ url: o.redisUrl, cluster, extra: { maxRetriesPerRequest: null } })
    : null;
  bullClient?.on('error', (err) => outage.error(err, {}, 'queue redis connection error'));
  const connection = bullClient ?? (redisOpts as ConnectionOptions);
  redis.on('error', (err) => outage.error(err, {}, 'redis connection error'));
  redis.on('ready', () => outage.recovered());

  const targets: ResolvedTarget[] = o.forwarding.map((t) => ({
    ...t,
    secretValue: resolveSecret(t.secret, o.baseDir),
  }));
  const queues = Object.fromEntries(
    QUEUE_NAMES.map((k) => [k, new Queue(k, { connection, prefix })]),
  ) as unknown as TypedQueues;
  for (const q of Object.values(queues) as Queue[])
    q.on('error', (err) => outage.error(err, { queue: q.name }, 'queue error'));
  const jobs = createJobProducer(queues);

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
    producer: jobs,
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
  const outbox = createOutbox({ redis, keys, store, forwarder, logger: logger.child({ part: 'outbox' }) });
  const feedback = createFeedback({ config, redis, keys, eventsMaxLen: config.events.maxLen, logger });
  const rechecker = createRechecker({
    config,
    producer: jobs,
    engine,
    store,
    forwarder,
    probe: o.recheck,
    redis,
    keys,
    clock,
    logger,
  });
  const sink = createFindingSink({
    producer: jobs,
    ...(o.sinkBatchMax !== undefined ? { batchMax: o.sinkBatchMax } : {}),
    logger: logger.child({ part: 'sink' }),
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
    rechecker,
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

  // Every job name of the catalogue with exactly one handler, checked now (fail fast), not
  // when the first job of a forgotten name arrives.
  const handlers: AnyJobHandler[] = [
    ...findingHandlers({
      engine,
      producer: jobs,
      failed,
      latency,
      clock,
      logger,
      ...(o.fencePrefix === undefined
        ? {}
        : {
            currentFence: async (cameraId: string) => {
              const v = await redis.get(fenceEpochKey(o.fencePrefix!, cameraId));
              return v === null || !/^\d+$/.test(v) ? null : Number(v);
            },
          }),
    }),
    ...forwarder.handlers(),
    ...rechecker.handlers(),
    onJob('maintenance', 'tick', 'dispatcher.tick', async () => JSON.stringify(await dispatcher.tick())),
    onJob('maintenance', 'retention', 'dispatcher.sweep', async () => {
      await dispatcher.sweep();
      return 'swept';
    }),
  ];
  const table = bindHandlers(handlers);

  let closing: Promise<void> | null = null;
  const workers: Worker[] = [];
  let relay: AlertRelay | null = null;

  function worker<Q extends QueueName>(k: Q, concurrency: number): Worker<QueueData<Q>, unknown, JobName<Q>> {
    const processor = processorFor(table, k, (job, code, why) => {
      failed.inc({ queue: k, code });
      logger.error(
        { queue: k, jobId: job.id, name: job.name, why },
        'job refused by the catalogue; failed for good',
      );
    });
    const w = new Worker<QueueData<Q>, unknown, JobName<Q>>(k, processor, {
      connection,
      prefix,
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
    w.on('error', (err) => outage.error(err, { queue: k }, 'worker error'));
    w.on('failed', (job, err) => {
      // Findings and refused payloads are counted by code where they fail; the rest here.
      if (k !== 'findings' && err instanceof UnrecoverableError && !(err instanceof RefusedJobError))
        failed.inc({ queue: k, code: 'unrecoverable' });
      if (err instanceof UnrecoverableError || (job && job.attemptsMade >= (job.opts.attempts ?? 1))) {
        logger.warn({ queue: k, jobId: job?.id, err: err.message }, 'job failed for good');
      }
    });
    workers.push(w as unknown as Worker);
    return w;
  }

  const dispatcher: Dispatcher = {
    engine,
    queues,
    jobs,
    alerts,
    callbackRouter,
    evidenceRouter,
    sink,
    async unrouted() {
      const all = await redis.hgetall(keys.unrouted);
      const out: { cameraId: string; at: number; reasons: string[] }[] = [];
      for (const [cameraId, j] of Object.entries(all)) {
        const p = UnroutedSchema.safeParse(JSON.parse(j));
        if (p.success) out.push({ cameraId, ...p.data });
        else logger.warn({ cameraId }, 'unrouted record does not parse; skipped');
      }
      return out;
    },
    onSuppressions(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    async start() {
      if (closing) throw new ClosedError('dispatcher');
      const list = await refreshSuppressions();
      for (const cb of listeners) cb(list);
      if (o.notifier) {
        const conn = createRedisClient({
          url: o.redisUrl,
          ...(o.redisOptions ? { options: o.redisOptions } : {}),
          ...(cluster ? { cluster } : {}),
          extra: { maxRetriesPerRequest: null },
        });
        conn.on('error', (err) => outage.error(err, {}, 'relay redis connection error'));
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
        worker('findings', config.concurrency);
        worker('forward', 10);
        worker('recheck', 5);
        worker('maintenance', 1);
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
      const queued = await outbox.drain(now);
      await refreshSuppressions();
      return { escalated, outbox: queued };
    },
    async sweep(now = clock()) {
      await sweepAlerts({ redis, keys, store, now, alertsDays: o.retention.alertsDays, logger });
      // Evidence in Redis expires by its own TTL; only a directory is swept.
      if (o.evidence?.dir) {
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
        outage.close();
        // Findings already accepted by submit() reach the queue before it closes.
        await sink.close();
        const results = await Promise.allSettled([...workers.map((w) => w.close()), relay?.close()]);
        const more = await Promise.allSettled((Object.values(queues) as Queue[]).map((q) => q.close()));
        for (const r of [...results, ...more])
          if (r.status === 'rejected') logger.warn({ err: r.reason }, 'error while closing the dispatcher');
        await redis.quit().catch((err: unknown) => logger.warn({ err }, 'redis quit failed'));
        await bullClient?.quit().catch((err: unknown) => logger.warn({ err }, 'queue redis quit failed'));
        logger.info('dispatcher closed');
      })();
      return closing;
    },
  };
  return dispatcher;
}
