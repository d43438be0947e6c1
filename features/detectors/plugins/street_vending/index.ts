/**
 * street_vending (占道经营 / 流动摊贩): people who stay put in a no-vending zone next to things a
 * stall is made of (COCO has no "stall" class, so goods and furniture stand in for it), for
 * dwellSec. A heuristic: its parts are each cheap and explainable to an operator.
 *
 * - Only stationary people count, so passers-by (even ones carrying bags) never do.
 * - A cue must sit mostly outside the person's box: a handbag on someone's arm is inside their
 *   box; goods laid out on a cloth or a table beside them are not.
 * - Cues flicker (small objects, low scores), so they need only be present in `minCueShare` of
 *   the samples the person has stood there, not in every one.
 * - The key is the longest-standing person of the cluster, so one stall is one event.
 */
import { z } from 'zod';
import { definePlugin, type NBox, type RuleEmission, type TrackedObject } from '../../plugin-api/contract.js';
import { createDwellBook, holdDwell, standingInZones } from '../../rules-lib/dwell.js';
import { placeKeyOf, relativeDistance, unionBox } from '../../rules-lib/geometry.js';
import { boxOf, round } from '../../rules-lib/boxes.js';
import {
  dwellOption,
  minHitsOption,
  minScoreOption,
  minSeenShareOption,
  zonesOption,
} from '../../rules-lib/options.js';
import { createSeenShare } from '../../rules-lib/seen-share.js';

/** Why each: see docs/detectors.md ("street_vending"). */
export const DEFAULT_CUES = [
  'umbrella', // stall parasol
  'dining table', // folding table / stall counter
  'bench',
  'chair', // vendor's stool
  'suitcase', // goods boxes and bundles on the ground
  'handbag',
  'backpack',
  'potted plant', // flower and seedling sellers
  'bottle', // drinks
  'cup',
  'bowl', // snack stalls
  'banana', // fruit and vegetables
  'apple',
  'orange',
  'broccoli',
  'carrot',
  'sandwich', // cooked food
  'hot dog',
  'pizza',
  'donut',
  'cake',
  'book', // second-hand books
];

export const StreetVendingOptionsSchema = z
  .strictObject({
    zones: zonesOption,
    dwellSec: dwellOption(600, 'a vendor must stay in the zone with goods'),
    // On vtest.avi static things the model calls 'person' (a tripod, bollards) score 0.2-0.39;
    // real people 0.46-0.73.
    minScore: minScoreOption(0.4),
    minHits: minHitsOption,
    minSeenShare: minSeenShareOption(0.7),
    cueClasses: z
      .array(z.string().min(1))
      .min(1)
      .default(DEFAULT_CUES)
      .describe('Labels that count as goods or stall furniture'),
    cueMinScore: z.number().min(0).max(1).default(0.25).describe('Minimum smoothed score of a cue object'),
    cueRadius: z
      .number()
      .positive()
      .max(10)
      .default(1.5)
      .describe('A cue counts when its centre is within this many person heights of a standing person'),
    maxCueInsidePerson: z
      .number()
      .min(0)
      .max(1)
      .default(0.6)
      .describe(
        'A cue with more than this share of its area inside the person’s box is carried, not displayed',
      ),
    clusterRadius: z
      .number()
      .positive()
      .max(10)
      .default(2)
      .describe('Standing people within this many person heights of each other form one stall'),
    minPeople: z.number().int().min(1).max(100).default(1).describe('Standing people a stall needs'),
    minCues: z.number().int().min(1).max(100).default(1).describe('Cue objects a stall needs in a sample'),
    minCueShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('Share of the dwell’s samples in which cues must have been seen'),
  })
  .describe('street_vending options');
export type StreetVendingOptions = z.infer<typeof StreetVendingOptionsSchema>;

function insideShare(inner: NBox, outer: NBox): number {
  const ix = Math.max(0, Math.min(inner.x2, outer.x2) - Math.max(inner.x1, outer.x1));
  const iy = Math.max(0, Math.min(inner.y2, outer.y2) - Math.max(inner.y1, outer.y1));
  const a = (inner.x2 - inner.x1) * (inner.y2 - inner.y1);
  return a > 0 ? (ix * iy) / a : 1;
}

export default definePlugin<StreetVendingOptions>({
  optionsSchema: StreetVendingOptionsSchema,
  createRule({ options }) {
    const book = createDwellBook();
    const seen = createSeenShare();
    const cueLabels = new Set(options.cueClasses);
    const cueCounts = new Map<string, { samples: number; withCues: number }>();
    return {
      evaluate(input) {
        if (!book.begin(input)) {
          cueCounts.clear();
          seen.clear();
          return [];
        }
        seen.observe(input);
        const people = standingInZones(input, seen, {
          ...options,
          accept: (label) => label === 'person',
        }).map((p) => ({ t: p.track, zone: p.zone }));
        const cues = input.tracks.filter(
          (t) => cueLabels.has(t.label) && t.stationarySince !== null && t.score >= options.cueMinScore,
        );

        // Union-find over standing people; tiny n (a handful per camera), so O(n²) is fine.
        const parent = people.map((_, i) => i);
        const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
        for (let i = 0; i < people.length; i++) {
          for (let j = i + 1; j < people.length; j++) {
            if (relativeDistance(people[j]!.t.box, people[i]!.t.box) <= options.clusterRadius) {
              parent[find(i)] = find(j);
            }
          }
        }
        const clusters = new Map<number, typeof people>();
        people.forEach((p, i) => {
          const r = find(i);
          clusters.set(r, [...(clusters.get(r) ?? []), p]);
        });

        const out: RuleEmission[] = [];
        for (const members of clusters.values()) {
          if (members.length < options.minPeople) continue;
          const near = new Map<string, TrackedObject>();
          for (const c of cues) {
            for (const m of members) {
              if (
                relativeDistance(c.box, m.t.box) <= options.cueRadius &&
                insideShare(c.box, m.t.box) <= options.maxCueInsidePerson
              ) {
                near.set(c.trackId, c);
              }
            }
          }
          const anchor = [...members].sort(
            (a, b) => a.t.stationarySince! - b.t.stationarySince! || a.t.trackId.localeCompare(b.t.trackId),
          )[0]!;
          const key = `street_vending:${anchor.t.trackId}`;
          const zone = anchor.zone;
          const { start, heldMs, due } = holdDwell(
            book,
            input,
            key,
            anchor.t.stationarySince,
            zone.id,
            options.dwellSec,
          );
          const counts = cueCounts.get(key) ?? { samples: 0, withCues: 0 };
          // Count only samples the model ran on: a carried frame repeats the last detections.
          if (input.inferred) {
            counts.samples += 1;
            if (near.size >= options.minCues) counts.withCues += 1;
          }
          cueCounts.set(key, counts);
          if (!due) continue;
          const share = counts.samples > 0 ? counts.withCues / counts.samples : 0;
          if (near.size < options.minCues || share < options.minCueShare) continue;
          const objs = [...members.map((m) => m.t), ...near.values()];
          out.push({
            type: 'street_vending',
            key,
            zoneId: zone.id,
            score: round(members.reduce((s, m) => s + m.t.score, 0) / members.length),
            trackIds: objs.map((o) => o.trackId),
            boxes: objs.map(boxOf),
            firstSeen: start,
            lastSeen: input.frame.at,
            placeKey: placeKeyOf(unionBox(objs.map((o) => o.box)), 'vend'),
            details: {
              people: members.length,
              cues: [...near.values()].map((c) => c.label),
              cueShare: round(share, 2),
              dwellSec: Math.round(heldMs / 1_000),
              zoneName: zone.name,
            },
          });
        }
        book.end();
        for (const k of cueCounts.keys()) if (book.startOf(k) === undefined) cueCounts.delete(k);
        return out;
      },
    };
  },
});
