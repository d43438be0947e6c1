/**
 * Example plugin: loitering (人员徘徊逗留) — a person who stands in a zone for dwellSec.
 *
 * Read this file top to bottom when writing your first rule; docs/detectors.md walks through it.
 * A rule sees, once per sampled frame, the camera's tracked objects (the tracker already gave
 * each a stable trackId and tells since when it has stood still) and the zones that list this
 * rule. It returns zero or more emissions; the pipeline turns them into findings with
 * evidence, and drops repeats of the same `key`.
 */
import { z } from 'zod';
import { definePlugin, type RuleEmission } from '../../plugin-api/contract.js';
// Shared helpers: the dwell loop (rules-lib/dwell.ts) and box formatting.
import { createStationaryDwell } from '../../rules-lib/dwell.js';
import { trackEmission } from '../../rules-lib/boxes.js';

// 1. Options: strict (a typo in camera YAML is an error, not ignored), every field described
//    (the descriptions become the JSON Schema and the docs), defaults for what cameras omit.
export const LoiteringOptionsSchema = z
  .strictObject({
    zones: z
      .array(z.string())
      .optional()
      .describe('Only these zone ids; omitted = every zone listing loitering'),
    dwellSec: z.number().min(0).max(86_400).default(120).describe('Seconds a person must stand in the zone'),
    minScore: z.number().min(0).max(1).default(0.4).describe('Minimum smoothed person score'),
    minSeenShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.7)
      .describe('Share of samples the person must have been detected in (see rules-lib/seen-share.ts)'),
  })
  .describe('loitering options');
export type LoiteringOptions = z.infer<typeof LoiteringOptionsSchema>;

// 2. The plugin: definePlugin only adds type checking. `options` arrives already validated.
export default definePlugin<LoiteringOptions>({
  optionsSchema: LoiteringOptionsSchema,
  createRule({ options }) {
    // Per-camera state lives here, in the closure: one rule instance per camera.
    // createStationaryDwell is the shared "a stationary track stands in a zone for the dwell"
    // loop: it honours the schedule (no clocks while inactive), skips walkers (their
    // stationarySince is null), skips chains of passers-by linked at one spot (they are
    // detected in few samples: see rules-lib/seen-share.ts), applies the operators' dwell
    // factor per zone, and re-arms when a person leaves, so the next stay is a new event.
    const dwell = createStationaryDwell({
      ...options,
      accept: (label) => label === 'person',
      keyPrefix: 'loitering', // one event per person while they stay: key = loitering:<trackId>
    });
    return {
      evaluate(input) {
        // Zones are matched by the feet (bottom-centre of the box).
        return dwell
          .evaluate(input)
          .map(({ track: t, zone, key, start }): RuleEmission =>
            trackEmission('loitering', t, zone, key, start, input.frame.at),
          );
      },
    };
  },
});
