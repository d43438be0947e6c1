import { z } from 'zod';
import { FindingTypeSchema } from './finding.js';

/**
 * A suppression made by the operator feedback loop (K rejections of one rule on one camera and
 * zone). Stored in Redis as JSON and parsed with this schema on every read.
 */
export const SuppressionSchema = z
  .strictObject({
    id: z.string().min(1).max(300).describe('s.<camera>.<zone or _>.<type>'),
    cameraId: z.string().min(1).max(64).describe('Camera the suppression applies to'),
    zoneId: z
      .string()
      .max(64)
      .nullable()
      .describe('Zone it applies to; null = every zone of the camera and its camera-wide findings'),
    type: FindingTypeSchema,
    action: z
      .enum(['suppress', 'raise_dwell'])
      .describe('suppress: no alert at all; raise_dwell: the dwell time is multiplied by dwellFactor'),
    // The guard against a zero (or shrinking) factor: feedback only ever lengthens a dwell; a
    // factor of 0 would make every sample raise an alert.
    dwellFactor: z
      .number()
      .min(1)
      .max(100)
      .describe('Dwell multiplier for raise_dwell (≥ 1; 1 for suppress)'),
    rejections: z.number().int().nonnegative().describe('Rejections counted when it was made'),
    createdAt: z.number().int().nonnegative().describe('ms since epoch'),
  })
  .describe('Operator feedback: a rule silenced or slowed on one camera (and zone)');
export type Suppression = z.infer<typeof SuppressionSchema>;
