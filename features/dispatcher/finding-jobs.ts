import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { Counter, Histogram } from 'prom-client';
import { isStale } from '../../core/contracts/fence.js';
import { FindingSchema, type Finding } from '../../core/contracts/finding.js';
import { Codes, GridwatchError } from '../../core/errors.js';
import type { AlertEngine } from './alert-engine.js';
import { findingJobId, issuesText, onJob, type AnyJobHandler, type JobProducer } from './job-registry.js';
import { createLimiter } from '../../core/util/limiter.js';

// Findings of batches in flight at once in this process, whatever the job concurrency: with
// 100 jobs of 100 findings all at once, node CPU per finding rose from ~145-170 µs (≤ 1,600
// in flight) to ~214 µs (10,000: bigger pipelines, more garbage) in the throughput bench.
const FINDINGS_IN_FLIGHT = 256;

const isPermanent = (err: unknown): err is GridwatchError =>
  err instanceof GridwatchError && (err.code === Codes.GW_UNKNOWN_CAMERA || err.code === Codes.GW_UNROUTABLE);

/** Handlers of the `findings` queue: one finding, a batch from the sink, a quarantined payload. */
export function findingHandlers(d: {
  engine: AlertEngine;
  producer: JobProducer;
  failed: Counter<'queue' | 'code'>;
  latency: Histogram;
  clock: () => number;
  logger: Logger;
  /**
   * Cluster mode: the camera's current lease epoch (null when unknown). A finding stamped with
   * an older epoch came from a node that lost the camera (paused past its lease) and is dropped.
   */
  currentFence?: (cameraId: string) => Promise<number | null>;
}): AnyJobHandler[] {
  const { engine, logger } = d;

  async function stale(f: Finding): Promise<boolean> {
    if (!f.fence || !d.currentFence) return false;
    if (!isStale(f, await d.currentFence(f.cameraId))) return false;
    d.failed.inc({ queue: 'findings', code: 'stale_fence' });
    logger.warn(
      { findingId: f.id, cameraId: f.cameraId, fence: f.fence },
      'finding from an older camera lease (fenced); dropped',
    );
    return true;
  }

  const inFlight = createLimiter(FINDINGS_IN_FLIGHT);
  const gate = <T>(fn: () => Promise<T>): Promise<T> => inFlight.run(fn);

  const jobOpts = (id: unknown) => ({
    ...(typeof id === 'string' && /^[A-Za-z0-9:_-]{1,200}$/.test(id) ? { jobId: findingJobId(id) } : {}),
    attempts: 1,
    removeOnFail: { count: 10_000 },
  });

  async function one(f: Finding, job: Job): Promise<string> {
    if (await stale(f)) return 'stale_fence';
    try {
      const r = await engine.ingest(f);
      if (r.alert) d.latency.observe(Math.max(0, d.clock() - job.timestamp) / 1_000);
      return r.kind;
    } catch (err) {
      if (isPermanent(err)) {
        d.failed.inc({ queue: 'findings', code: err.code });
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
   * A batch from the sink. Each finding keeps its own guarantee: the commit script refuses a
   * finding id it has already applied (seen-set), so when the batch is retried (after a
   * transient error, or because its process died holding it) the findings done before are
   * skipped, not doubled. A finding that can never become an alert is queued as a job of its
   * own (a valid one as `finding`, an invalid one as `quarantine`), which then fails for good
   * with its reason, so the rest of the batch is not held back. Its job id comes from the
   * finding id, so a retried batch does not queue it twice.
   */
  async function batch(raw: readonly unknown[], job: Job): Promise<string> {
    const good: Finding[] = [];
    let fenced = 0;
    for (const x of raw) {
      const r = FindingSchema.safeParse(x);
      if (r.success) {
        if (await stale(r.data)) {
          fenced++;
          continue;
        }
        good.push(r.data);
      } else
        await d.producer.add(
          'findings',
          'quarantine',
          { finding: x, reason: issuesText(r.error).slice(0, 4_000) },
          jobOpts((x as { id?: unknown } | null)?.id),
        );
    }
    const results = await engine.ingestMany(good, gate);
    const counts: Record<string, number> = fenced ? { stale_fence: fenced } : {};
    let retry: unknown = null;
    const now = d.clock();
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') {
        counts[r.value.kind] = (counts[r.value.kind] ?? 0) + 1;
        if (r.value.alert) d.latency.observe(Math.max(0, now - job.timestamp) / 1_000);
      } else if (isPermanent(r.reason)) {
        counts.failed = (counts.failed ?? 0) + 1;
        await d.producer.add('findings', 'finding', good[i]!, jobOpts(good[i]!.id));
      } else {
        retry ??= r.reason;
      }
    }
    if (retry !== null) throw retry;
    return JSON.stringify(counts);
  }

  return [
    onJob('findings', 'finding', 'finding-jobs.one', (f, job) => one(f, job)),
    onJob('findings', 'batch', 'finding-jobs.batch', (b, job) => batch(b.findings, job)),
    onJob('findings', 'quarantine', 'finding-jobs.quarantine', async (q, job) => {
      d.failed.inc({ queue: 'findings', code: Codes.GW_VALIDATION });
      logger.error({ jobId: job.id, reason: q.reason }, 'finding fails its schema; failed for good');
      throw new UnrecoverableError(`finding job ${job.id}: ${q.reason}`);
    }),
  ];
}
