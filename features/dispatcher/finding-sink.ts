import type { Logger } from 'pino';
import { FindingSchema, type Finding, type FindingSink } from '../../core/contracts/finding.js';
import { ClosedError, ValidationError } from '../../core/errors.js';
import { findingJobId, type JobProducer } from './job-registry.js';
import { zodIssues } from '../../core/config/zod-issues.js';

export interface BatchingSink extends FindingSink {
  /** Stops taking findings; resolves once every accepted finding is in the queue. */
  close(): Promise<void>;
}

const JOB_OPTS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 10_000 },
};

/**
 * The dispatcher's FindingSink, with group commit on the producer side: a finding submitted
 * while no add is waiting on Redis is queued alone at once (no added latency at low rates);
 * findings that arrive meanwhile go together into the next `batch` job. Per-job costs in
 * BullMQ (add, lock, moveToFinished) are then paid once per batch when the rate is high.
 * One add in flight for big batches (the batch grows with Redis's latency, so the system
 * batches more exactly when it is busier); more when batches are capped small, so a cap of 1
 * still pipelines adds.
 */
export function createFindingSink(d: {
  producer: JobProducer;
  /** Most findings in one job (default 100); 1 = one job per finding. */
  batchMax?: number;
  logger: Logger;
}): BatchingSink {
  const batchMax = Math.max(1, Math.floor(d.batchMax ?? 100));
  const maxAddsInFlight = Math.max(1, Math.ceil(64 / batchMax));
  type Waiter = { resolve: () => void; reject: (err: unknown) => void };
  const pending = new Map<string, { f: Finding; waiters: Waiter[] }>();
  const adding = new Set<Promise<void>>();
  let closing: Promise<void> | null = null;

  function pump(): void {
    while (adding.size < maxAddsInFlight && pending.size > 0) {
      const take: { f: Finding; waiters: Waiter[] }[] = [];
      for (const [id, e] of pending) {
        take.push(e);
        pending.delete(id);
        if (take.length >= batchMax) break;
      }
      const first = take[0]!.f;
      const add =
        take.length === 1
          ? d.producer.add('findings', 'finding', first, { ...JOB_OPTS, jobId: findingJobId(first.id) })
          : d.producer.add('findings', 'batch', { findings: take.map((e) => e.f) }, JOB_OPTS);
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

  return {
    async submit(f: Finding) {
      if (closing) throw new ClosedError('dispatcher');
      const p = FindingSchema.safeParse(f);
      if (!p.success) {
        throw new ValidationError(
          `finding ${typeof f?.id === 'string' ? f.id : '?'}`,
          zodIssues('finding', p.error, f),
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
    close() {
      closing ??= (async () => {
        // Findings already accepted by submit() reach the queue before the queues close.
        while (adding.size > 0 || pending.size > 0) {
          if (adding.size === 0) pump();
          await Promise.allSettled([...adding]);
        }
        d.logger.debug('finding sink drained');
      })();
      return closing;
    },
  };
}
