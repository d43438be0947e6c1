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
// Shared helpers: where an object stands, which zone it is in, dwell clocks honouring the schedule.
import { createDwellBook, dwellMs } from '../../rules-lib/dwell.js';
import { filterZones, zoneOf } from '../../rules-lib/geometry.js';
import { boxOf, round } from '../../rules-lib/boxes.js';
import { createSeenShare } from '../../rules-lib/seen-share.js';

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
    const book = createDwellBook();
    // Sparse samples can chain different passers-by at one spot into one "standing" track;
    // someone really standing is detected in nearly every sample.
    const seen = createSeenShare();
    return {
      evaluate(input) {
        // Outside the schedule window: forget all clocks and report nothing.
        if (!book.begin(input)) {
          seen.clear();
          return [];
        }
        seen.observe(input);
        const zones = filterZones(input.zones, options.zones);
        const out: RuleEmission[] = [];
        for (const t of input.tracks) {
          // Walkers have stationarySince === null: they never count.
          if (t.label !== 'person' || t.stationarySince === null || t.score < options.minScore) continue;
          if (seen.share(t.trackId) < options.minSeenShare) continue;
          const zone = zoneOf(t.box, zones); // by the feet (bottom-centre of the box)
          if (!zone) continue;
          const key = `loitering:${t.trackId}`; // one event per person while they stay
          const start = book.hold(key, t.stationarySince);
          // Operators' feedback can lengthen the dwell per zone; always go through dwellMs.
          if (input.frame.at - start < dwellMs(options.dwellSec, zone.id, input.dwellFactor)) continue;
          out.push({
            type: 'loitering',
            key,
            zoneId: zone.id,
            score: round(t.score),
            trackIds: [t.trackId],
            boxes: [boxOf(t)],
            firstSeen: start,
            lastSeen: input.frame.at,
          });
        }
        // People who left (or walked off) lose their clock: the next stay is a new event.
        book.end();
        return out;
      },
    };
  },
});
