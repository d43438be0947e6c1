import { z } from 'zod';
import { FindingSchema } from '../../core/contracts/finding.js';

/**
 * Every queue the dispatcher uses, with the schema of its payload, in one typed map. A payload
 * that fails its schema is failed for good (UnrecoverableError) and counted, never retried.
 */
export const QUEUES = {
  findings: {
    name: 'findings',
    /** Job name 'finding': one finding (job id from its id). */
    schema: FindingSchema,
    /**
     * Job name 'batch': findings the sink grouped because they arrived faster than Redis took
     * them. Elements are checked one by one, so one bad finding does not fail the others.
     */
    batchSchema: z
      .strictObject({
        findings: z
          .array(z.unknown())
          .min(1)
          .max(1_000)
          .describe('Finding payloads, each checked against FindingSchema'),
      })
      .describe('Findings queued together by one producer'),
  },
  forward: {
    name: 'forward',
    schema: z
      .strictObject({
        alertId: z.string().min(1).max(200),
        targetId: z.string().min(1).max(64),
        seq: z
          .number()
          .int()
          .min(1)
          .describe('Message number for this alert and target; 1 = the case, 2.. = reopen'),
        kind: z.enum(['case.create', 'case.reopen']),
      })
      .describe('Send one message about one alert to one grid platform'),
  },
  recheck: {
    name: 'recheck',
    schema: z
      .strictObject({ alertId: z.string().min(1).max(200), round: z.number().int().min(1) })
      .describe('二次识别 of one alert'),
  },
  maintenance: {
    name: 'maintenance',
    schema: z.strictObject({ task: z.enum(['tick', 'retention']) }).describe('Periodic scans'),
  },
} as const;

export type QueueKey = keyof typeof QUEUES;
export type QueuePayload<K extends QueueKey> = z.infer<(typeof QUEUES)[K]['schema']>;

/** BullMQ refuses ':' in custom ids (reserved for its legacy repeat ids); '.' is not in the finding id alphabet, so this is one-to-one. */
export function findingJobId(findingId: string): string {
  return `f.${findingId.replace(/:/g, '.')}`;
}

export function forwardJobId(alertId: string, targetId: string, seq: number, retry = 0): string {
  return `fw.${alertId}.${targetId}.${seq}${retry ? `.r${retry}` : ''}`;
}
