import { UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import { z } from 'zod';
import { FindingSchema } from '../../core/contracts/finding.js';
import { Codes, GridwatchError, ValidationError } from '../../core/errors.js';
import { zodIssues, zodIssuesText } from '../../core/config/zod-issues.js';

/**
 * The job catalogue: every queue the dispatcher uses, every job name on it, and the zod schema
 * of that job's payload. Producers validate before adding (a bad payload never reaches Redis);
 * consumers validate again before the handler runs (a payload from an older or foreign writer
 * fails for good, counted, never retried). `bindHandlers` checks at start-up that every job name
 * has exactly one handler, as Immich's job repository does.
 */
const ForwardSchema = z
  .strictObject({
    alertId: z.string().min(1).max(200).describe('Alert the message is about'),
    targetId: z.string().min(1).max(64).describe('Forwarding target id (gateway.yaml forwarding[].id)'),
    seq: z
      .number()
      .int()
      .min(1)
      .describe('Message number for this alert and target; 1 = the case, 2.. = reopen'),
    kind: z.enum(['case.create', 'case.reopen']).describe('Message kind; equals the job name'),
  })
  .describe('Send one message about one alert to one grid platform');

export const JOB_CATALOGUE = {
  findings: {
    finding: { schema: FindingSchema.describe('One finding; job id from its id (findingJobId)') },
    batch: {
      schema: z
        .strictObject({
          findings: z
            .array(z.unknown())
            .min(1)
            .max(1_000)
            .describe('Finding payloads, each checked against FindingSchema on its own'),
        })
        .describe(
          'Findings the sink grouped because they arrived faster than Redis took them; one bad finding does not fail the others',
        ),
    },
    quarantine: {
      schema: z
        .strictObject({
          finding: z.unknown().describe('The payload as it arrived in a batch'),
          reason: z.string().min(1).max(4_000).describe('Why it fails its schema'),
        })
        .describe('A finding of a batch that fails its schema, kept as its own failed job with the reason'),
    },
  },
  forward: {
    'case.create': { schema: ForwardSchema },
    'case.reopen': { schema: ForwardSchema },
  },
  recheck: {
    recheck: {
      schema: z
        .strictObject({
          alertId: z.string().min(1).max(200).describe('Alert to look at again'),
          round: z.number().int().min(1).describe('1 for the first re-check after "handled"'),
        })
        .describe('二次识别 of one alert'),
    },
  },
  maintenance: {
    tick: {
      schema: z
        .strictObject({ task: z.literal('tick').describe('Kept for schedulers made by older versions') })
        .describe('Escalation, forwarding outbox and suppression refresh'),
    },
    retention: {
      schema: z
        .strictObject({ task: z.literal('retention').describe('Kept for schedulers made by older versions') })
        .describe('Alert and evidence retention'),
    },
  },
} as const satisfies Record<string, Record<string, { schema: z.ZodType }>>;

type Catalogue = typeof JOB_CATALOGUE;
export type QueueName = keyof Catalogue;
export type JobName<Q extends QueueName> = keyof Catalogue[Q] & string;
type EntryOf<Q extends QueueName, N extends JobName<Q>> = Catalogue[Q][N] extends { schema: infer S }
  ? S
  : never;
export type JobData<Q extends QueueName, N extends JobName<Q>> =
  EntryOf<Q, N> extends z.ZodType ? z.infer<EntryOf<Q, N>> : never;
/** Payload of any job of a queue. */
export type QueueData<Q extends QueueName> = { [N in JobName<Q>]: JobData<Q, N> }[JobName<Q>];
/** A BullMQ Queue typed by the catalogue (data and job names). */
export type TypedQueue<Q extends QueueName> = Queue<QueueData<Q>, unknown, JobName<Q>>;
export type TypedQueues = { [Q in QueueName]: TypedQueue<Q> };

export const QUEUE_NAMES = Object.keys(JOB_CATALOGUE) as QueueName[];

function schemaOf(queue: string, name: string): z.ZodType | undefined {
  const q = (JOB_CATALOGUE as Record<string, Record<string, { schema: z.ZodType }>>)[queue];
  return q && Object.hasOwn(q, name) ? q[name]!.schema : undefined;
}

export function issuesText(e: z.ZodError): string {
  return zodIssuesText(e);
}

/** Validates a payload against the catalogue; throws ValidationError naming the queue, job and field. */
export function validateJob<Q extends QueueName, N extends JobName<Q>>(
  queue: Q,
  name: N,
  data: unknown,
): JobData<Q, N> {
  const schema = schemaOf(queue, name);
  if (!schema)
    throw new GridwatchError(Codes.GW_JOB_CATALOGUE, `queue ${queue} has no job named ${name}`, {
      details: { queue, name },
    });
  const p = schema.safeParse(data);
  if (!p.success)
    throw new ValidationError(`${queue} job ${name}`, zodIssues(`${queue} job ${name}`, p.error, data));
  return p.data as JobData<Q, N>;
}

/** Producer side: every add goes through the job's schema first. */
export interface JobProducer {
  add<Q extends QueueName, N extends JobName<Q>>(
    queue: Q,
    name: N,
    data: JobData<Q, N>,
    opts?: JobsOptions,
  ): Promise<Job>;
  addBulk<Q extends QueueName>(
    queue: Q,
    jobs: { name: JobName<Q>; data: QueueData<Q>; opts?: JobsOptions }[],
  ): Promise<Job[]>;
}

export function createJobProducer(queues: TypedQueues): JobProducer {
  const q = queues as unknown as Record<QueueName, Queue>;
  return {
    async add(queue, name, data, opts) {
      return q[queue].add(name, validateJob(queue, name, data), opts);
    },
    async addBulk(queue, jobs) {
      return q[queue].addBulk(
        jobs.map((j) => ({
          name: j.name,
          data: validateJob(queue, j.name, j.data),
          ...(j.opts ? { opts: j.opts } : {}),
        })),
      );
    },
  };
}

/** Consumer side: one handler for one job name; `label` names it in catalogue errors. */
export interface JobHandler<Q extends QueueName, N extends JobName<Q>> {
  readonly queue: Q;
  readonly name: N;
  readonly label: string;
  handle(data: JobData<Q, N>, job: Job): Promise<unknown>;
}

/** Any handler of the catalogue (a union over every queue and job name). */
export type AnyJobHandler = {
  [Q in QueueName]: { [N in JobName<Q>]: JobHandler<Q, N> }[JobName<Q>];
}[QueueName];

export function onJob<Q extends QueueName, N extends JobName<Q>>(
  queue: Q,
  name: N,
  label: string,
  handle: (data: JobData<Q, N>, job: Job) => Promise<unknown>,
): JobHandler<Q, N> {
  return { queue, name, label, handle };
}

/** A job the catalogue refuses (unknown name, bad payload): failed for good, already counted. */
export class RefusedJobError extends UnrecoverableError {}

/** Handlers by queue and job name, checked against the catalogue. */
export type JobTable = ReadonlyMap<QueueName, ReadonlyMap<string, AnyJobHandler>>;

/**
 * The start-up check: every job name of the catalogue has exactly one handler and no handler
 * names a job the catalogue does not know. Throws GW_JOB_CATALOGUE listing every problem.
 */
export function bindHandlers(handlers: readonly AnyJobHandler[]): JobTable {
  const problems: string[] = [];
  const table = new Map<QueueName, Map<string, AnyJobHandler>>();
  for (const h of handlers) {
    if (!schemaOf(h.queue, h.name)) {
      problems.push(`${h.label} handles ${h.queue}/${h.name}, which is not in the job catalogue`);
      continue;
    }
    const byName = table.get(h.queue) ?? new Map<string, AnyJobHandler>();
    table.set(h.queue, byName);
    const prev = byName.get(h.name);
    if (prev) problems.push(`${h.queue}/${h.name} has two handlers: ${prev.label} and ${h.label}`);
    else byName.set(h.name, h);
  }
  for (const q of QUEUE_NAMES)
    for (const name of Object.keys(JOB_CATALOGUE[q]))
      if (!table.get(q)?.has(name)) problems.push(`${q}/${name} has no handler`);
  if (problems.length > 0)
    throw new GridwatchError(
      Codes.GW_JOB_CATALOGUE,
      `job handlers do not match the catalogue: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  return table;
}

/**
 * The BullMQ processor of one queue: looks the handler up by job name, parses the payload,
 * runs the handler. A job name or payload the catalogue refuses fails for good
 * (UnrecoverableError) after `onRefused` has counted it.
 */
export function processorFor<Q extends QueueName>(
  table: JobTable,
  queue: Q,
  onRefused: (
    job: Job,
    code: typeof Codes.GW_VALIDATION | typeof Codes.GW_JOB_CATALOGUE,
    why: string,
  ) => void,
): (job: Job<QueueData<Q>, unknown, JobName<Q>>) => Promise<unknown> {
  const byName = table.get(queue) ?? new Map<string, AnyJobHandler>();
  return async (job) => {
    const h = byName.get(job.name);
    if (!h) {
      const why = `${queue} job ${job.id} has the name ${job.name}, which is not in the job catalogue`;
      onRefused(job, Codes.GW_JOB_CATALOGUE, why);
      throw new RefusedJobError(why);
    }
    const p = schemaOf(queue, job.name)!.safeParse(job.data);
    if (!p.success) {
      const why = `${queue} job ${job.name} ${job.id}: ${issuesText(p.error)}`;
      onRefused(job, Codes.GW_VALIDATION, why);
      throw new RefusedJobError(why);
    }
    return (h.handle as (data: unknown, job: Job) => Promise<unknown>)(p.data, job);
  };
}

/** BullMQ refuses ':' in custom ids (reserved for its legacy repeat ids); '.' is not in the finding id alphabet, so this is one-to-one. */
export function findingJobId(findingId: string): string {
  return `f.${findingId.replace(/:/g, '.')}`;
}

export function forwardJobId(alertId: string, targetId: string, seq: number, retry = 0): string {
  return `fw.${alertId}.${targetId}.${seq}${retry ? `.r${retry}` : ''}`;
}
