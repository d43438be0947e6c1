/**
 * illegal_parking (违停): a vehicle whose wheels (box bottom-centre) are in a no-parking zone
 * and that has stayed put for dwellSec. One event per parked vehicle: the key is its track id,
 * so the event re-arms only once that vehicle has left (its track ends) and another arrives.
 */
import { z } from 'zod';
import { definePlugin, type RuleEmission } from '../../plugin-api/contract.js';
import { createStationaryDwell } from '../../rules-lib/dwell.js';
import { placeKeyOf } from '../../rules-lib/geometry.js';
import { trackEmission } from '../../rules-lib/boxes.js';
import {
  dwellOption,
  minHitsOption,
  minScoreOption,
  minSeenShareOption,
  zonesOption,
} from '../../rules-lib/options.js';

export const IllegalParkingOptionsSchema = z
  .strictObject({
    zones: zonesOption,
    dwellSec: dwellOption(180, 'a vehicle must stay put in the zone'),
    // Street views score vehicles 0.35-0.45 (CenterNet at 512 on vtest.avi): 0.3 keeps them.
    minScore: minScoreOption(0.3),
    minHits: minHitsOption,
    minSeenShare: minSeenShareOption(0.5),
    classes: z
      .array(z.string().min(1))
      .min(1)
      .default(['car', 'truck', 'bus', 'motorcycle'])
      .describe('Labels that count as vehicles (the tracker treats car/truck/bus/motorcycle as one family)'),
  })
  .describe('illegal_parking options');
export type IllegalParkingOptions = z.infer<typeof IllegalParkingOptionsSchema>;

export default definePlugin<IllegalParkingOptions>({
  optionsSchema: IllegalParkingOptionsSchema,
  createRule({ options }) {
    const classes = new Set(options.classes);
    const dwell = createStationaryDwell({
      ...options,
      accept: (label) => classes.has(label),
      keyPrefix: 'illegal_parking',
    });
    return {
      evaluate(input) {
        return dwell.evaluate(input).map(({ track: t, zone, key, start, dwellSec }): RuleEmission => ({
          ...trackEmission('illegal_parking', t, zone, key, start, input.frame.at),
          placeKey: placeKeyOf(t.box, 'park'),
          details: { label: t.label, dwellSec, zoneName: zone.name },
        }));
      },
    };
  },
});
