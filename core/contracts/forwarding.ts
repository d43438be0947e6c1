import { z } from 'zod';

/**
 * Forwarding of a confirmed alert to the grid platforms, as the operator and the admin see it.
 * The dispatcher keeps it on the alert (so every wall gets it with the alert's own updates)
 * and per target (for the admin's backlog view).
 */

/** 待转发 / 已转发 / 转发失败 / 未配置目标. */
export const FORWARD_STATUSES = ['pending', 'sent', 'failed', 'no_target'] as const;
export const ForwardStatusSchema = z
  .enum(FORWARD_STATUSES)
  .describe(
    'pending 待转发 (queued or retrying), sent 已转发 (every target acknowledged), failed 转发失败 (a target gave up: dead letter), no_target 未配置目标 (no target takes this type: the alert goes nowhere)',
  );
export type ForwardStatus = z.infer<typeof ForwardStatusSchema>;

/**
 * Why a send failed, as a code the wall translates (the raw error is English and stays in
 * `detail`, the log and the admin view). Sorted from the error text by a heuristic
 * (forwarding-status.ts, classifyForwardError); unknown texts are `other`.
 */
export const FORWARD_FAILURES = [
  'http_4xx',
  'http_5xx',
  'timeout',
  'connection_refused',
  'dns',
  'network',
  'order_wait',
  'target_removed',
  'other',
] as const;
export const ForwardFailureSchema = z
  .enum(FORWARD_FAILURES)
  .describe(
    'http_4xx platform refused the case, http_5xx platform error, timeout no answer in time, connection_refused nothing listening, dns host name unknown, network other network failure, order_wait an earlier message of the alert is not yet acknowledged, target_removed the target is no longer configured, other anything else',
  );
export type ForwardFailure = z.infer<typeof ForwardFailureSchema>;

export const ForwardErrorSchema = z
  .strictObject({
    kind: ForwardFailureSchema,
    httpStatus: z.number().int().nullable().describe('HTTP status the platform answered with, if any'),
    at: z.number().int().describe('ms since epoch'),
    detail: z.string().max(300).describe('The error as the sender saw it (English, for the admin)'),
  })
  .describe('The last failed attempt');
export type ForwardError = z.infer<typeof ForwardErrorSchema>;

export const AlertForwardTargetSchema = z
  .strictObject({
    target: z.string().describe('Forwarding target id'),
    status: z
      .enum(['pending', 'sent', 'failed'])
      .describe('This target: queued/retrying, acknowledged, gave up'),
    attempts: z.number().int().nonnegative().describe('Attempts made for the latest message'),
    lastError: ForwardErrorSchema.nullable(),
    sentAt: z.number().int().nullable().describe('When the target acknowledged (ms)'),
  })
  .describe('Forwarding of one alert to one target');
export type AlertForwardTarget = z.infer<typeof AlertForwardTargetSchema>;

export const AlertForwardingSchema = z
  .strictObject({
    status: ForwardStatusSchema,
    at: z.number().int().describe('Last change (ms)'),
    targets: z.array(AlertForwardTargetSchema).describe('One entry per target that takes the type'),
  })
  .describe('Where the case of a confirmed alert stands');
export type AlertForwarding = z.infer<typeof AlertForwardingSchema>;

export const ForwardTargetOverviewSchema = z
  .strictObject({
    id: z.string(),
    endpoint: z.string().describe('Scheme, host and port of the intake URL (no path, no query)'),
    types: z.array(z.string()).nullable().describe('Finding types it takes; null: all'),
    backlog: z.number().int().nonnegative().describe('Messages queued or retrying, not yet acknowledged'),
    oldestPendingAt: z.number().int().nullable().describe('When the oldest of them was queued (ms)'),
    deadLetters: z.number().int().nonnegative().describe('Messages that ran out of attempts'),
    lastOkAt: z.number().int().nullable(),
    lastFailure: ForwardErrorSchema.extend({ alertId: z.string() }).nullable(),
  })
  .describe('One forwarding target as the admin sees it');

export const ForwardingOverviewSchema = z
  .strictObject({
    targets: z.array(ForwardTargetOverviewSchema),
    untargeted: z
      .strictObject({
        count: z.number().int().nonnegative().describe('Confirmed alerts no target takes'),
        recent: z
          .array(
            z.strictObject({
              alertId: z.string(),
              type: z.string(),
              gridCode: z.string(),
              confirmedAt: z.number().int(),
            }),
          )
          .describe('The latest of them, newest first'),
      })
      .describe('Confirmed alerts that went nowhere'),
  })
  .describe('Forwarding targets with backlog and last failure, and confirmed alerts with no target');
export type ForwardingOverview = z.infer<typeof ForwardingOverviewSchema>;
