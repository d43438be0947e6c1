/** Option fragments every rule shares, so the docs' tables read the same for each rule. */
import { z } from 'zod';

export const zonesOption = z
  .array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/))
  .optional()
  .describe('Only these zone ids (of the zones that list this rule); omitted = all of them');

export function dwellOption(defaultSec: number, what: string) {
  return z.number().min(0).max(86_400).default(defaultSec).describe(`Seconds ${what} before the rule fires`);
}

export function minScoreOption(defaultScore: number) {
  return z
    .number()
    .min(0)
    .max(1)
    .default(defaultScore)
    .describe(
      'Minimum smoothed track score (the tracker averages over samples, so one weak frame does not decide)',
    );
}

export const minHitsOption = z
  .number()
  .int()
  .min(1)
  .max(1_000)
  .default(3)
  .describe('Samples a track must have been detected in before it counts (filters one-frame ghosts)');

export function minSeenShareOption(defaultShare: number) {
  return z
    .number()
    .min(0)
    .max(1)
    .default(defaultShare)
    .describe(
      'Share of samples since it appeared in which the track must have been detected; chains of different passers-by linked at one spot miss many',
    );
}
