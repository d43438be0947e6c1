import { z } from 'zod';
import { CrsSchema, GridCodeSchema, SecretRefSchema } from '../../core/contracts/common-schema.js';

/** `dispatcher:` and `forwarding:` sections of gateway.yaml. Owned by the dispatcher component. */
export const DispatcherConfigSchema = z
  .strictObject({
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(50)
      .describe(
        'Queue jobs (each holding up to 100 findings submitted together) processed at once per dispatcher process; findings in flight are capped at 256',
      ),
    fallbackGridCode: GridCodeSchema.optional().describe(
      'Grid for cameras outside every grid; they are also reported in health',
    ),
    dedup: z
      .record(
        z.string(),
        z
          .strictObject({
            windowSec: z
              .number()
              .positive()
              .describe('A finding within this window of the open alert updates it'),
            keys: z
              .array(z.enum(['camera', 'type', 'zone', 'track', 'place']))
              .min(1)
              .describe('What makes two findings the same problem'),
          })
          .describe('Dedup rule for one finding type'),
      )
      .default({})
      .describe('Per finding type (or "default"): dedup window and keys'),
    dedupHoldSec: z
      .number()
      .int()
      .positive()
      .default(7 * 86_400)
      .describe(
        'How long a dedup key keeps pointing at its open alert without a finding: the same object merges into the open alert across any outage shorter than this, whatever the window',
      ),
    cooldownSec: z
      .record(z.string(), z.number().nonnegative())
      .default({})
      .describe(
        'Per type (or "default"): seconds after an alert is raised during which no new alert for the same camera, zone and rule is raised (findings still merge into open alerts)',
      ),
    rejectedObject: z
      .strictObject({
        gapSec: z
          .number()
          .nonnegative()
          .default(60)
          .describe(
            'A finding for a rejected object (same camera, zone, rule, overlapping box) whose condition began at most this long after the object was last seen is the same stay and is not raised',
          ),
        holdSec: z
          .number()
          .int()
          .positive()
          .default(86_400)
          .describe('How long a rejected object is remembered after it was last seen'),
      })
      .default({ gapSec: 60, holdSec: 86_400 })
      .describe('Rejection honoured: a rejected stationary object is not raised again while it stays'),
    escalateAfterSec: z
      .record(z.string(), z.number().positive())
      .default({})
      .describe('Per type (or "default"): unclaimed this long → escalate to the parent level'),
    recheck: z
      .record(
        z.string(),
        z
          .strictObject({
            delaySec: z
              .number()
              .positive()
              .describe('Seconds after the platform reports "handled" before the camera is sampled again'),
            autoClose: z
              .boolean()
              .default(false)
              .describe(
                'Close the alert by itself when the problem is gone; otherwise only record the result',
              ),
          })
          .describe('Re-check rule for one finding type'),
      )
      .default({})
      .describe('Per type: re-sample the camera after the platform reports a case handled (二次识别)'),
    feedback: z
      .strictObject({
        rejections: z.number().int().min(1).default(5).describe('K rejections …'),
        windowSec: z.number().positive().default(86_400).describe('… within this window …'),
        action: z
          .enum(['suppress', 'raise_dwell'])
          .default('raise_dwell')
          .describe('… suppress the rule on that zone, or lengthen its dwell'),
        dwellFactor: z
          .number()
          .min(1)
          .max(100)
          .default(2)
          .describe(
            'raise_dwell: the dwell time is multiplied by this (at least 1: feedback never shortens a dwell, and 0 would alarm on every sample)',
          ),
      })
      .default({ rejections: 5, windowSec: 86_400, action: 'raise_dwell', dwellFactor: 2 })
      .describe('Operator feedback loop'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/)
      .default('gw')
      .describe(
        'Prefix of every Redis key the dispatcher writes (BullMQ queues and alert data); two gateways sharing one Redis need different prefixes',
      ),
    seenTtlSec: z
      .number()
      .int()
      .positive()
      .default(86_400)
      .describe('How long a finding id is remembered: a re-delivery within this time is ignored'),
    lockDurationMs: z
      .number()
      .int()
      .min(1_000)
      .default(30_000)
      .describe('BullMQ job lock: a job held by a dead process is given to another after about this long'),
    tickSec: z
      .number()
      .positive()
      .default(5)
      .describe('Escalation, forwarding outbox and feedback scan interval'),
    forwardBackoff: z
      .strictObject({
        baseMs: z.number().int().positive().default(2_000).describe('First retry delay; doubles per attempt'),
        maxMs: z.number().int().positive().default(300_000).describe('Longest delay between two attempts'),
      })
      .default({ baseMs: 2_000, maxMs: 300_000 })
      .describe('Retry delays for forwarding a case to the grid platform'),
    callbackMaxSkewSec: z
      .number()
      .int()
      .positive()
      .default(300)
      .describe(
        'Platform callbacks whose timestamp is further than this from now are refused (replay protection)',
      ),
    events: z
      .strictObject({
        maxLen: z
          .number()
          .int()
          .min(100)
          .default(10_000)
          .describe('Approximate length the alert event stream is trimmed to'),
        group: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .default('walls')
          .describe('Consumer group of gateway processes relaying alert events to walls'),
      })
      .default({ maxLen: 10_000, group: 'walls' })
      .describe('Alert change events (a Redis stream), relayed to walls by exactly one gateway process each'),
  })
  .describe('Dispatcher: dedup, routing, escalation, re-check, feedback');
export type DispatcherConfig = z.infer<typeof DispatcherConfigSchema>;

export const ForwardTargetSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .describe('Target id'),
    url: z.string().url().describe('Case intake endpoint of the grid platform'),
    secret: SecretRefSchema.describe('HMAC-SHA256 shared secret'),
    crs: CrsSchema.default('GCJ02').describe('Coordinate system the platform wants'),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .default(5_000)
      .describe('Milliseconds to wait for the platform to answer one case'),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe('Attempts before the case goes to the dead-letter list'),
    types: z.array(z.string()).optional().describe('Only these finding types; omitted: all'),
  })
  .describe('A grid platform that receives confirmed alerts as cases');
export type ForwardTarget = z.infer<typeof ForwardTargetSchema>;
