/**
 * crowd_gathering (人员聚集): at least minPeople people stand in a zone for dwellSec.
 *
 * A busy pavement always holds people, so a gathering also needs a share of them to be
 * standing (stationary tracks). Counts dip when people occlude each other, so a dip shorter
 * than graceSec does not end the episode. One event per episode per zone.
 */
import { z } from 'zod';
import { definePlugin, type RuleEmission, type TrackedObject } from '../../plugin-api/contract.js';
import { dwellMs } from '../../rules-lib/dwell.js';
import { filterZones, zoneOf } from '../../rules-lib/geometry.js';
import { boxOf, round } from '../../rules-lib/boxes.js';
import { dwellOption, minScoreOption, minSeenShareOption, zonesOption } from '../../rules-lib/options.js';
import { createSeenShare } from '../../rules-lib/seen-share.js';

export const CrowdGatheringOptionsSchema = z
  .strictObject({
    zones: zonesOption,
    dwellSec: dwellOption(120, 'the crowd must last'),
    minPeople: z
      .number()
      .int()
      .min(2)
      .max(1_000)
      .default(10)
      .describe('People in the zone that make a crowd'),
    minStationaryShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        'Share of the counted people that must be standing, not walking through (0 = count everyone)',
      ),
    // On vtest.avi static things the model calls 'person' (a tripod, bollards) score 0.2-0.39;
    // real people 0.46-0.73. A distant crowd scores lower: lower this for far views.
    minScore: minScoreOption(0.4),
    minSeenShare: minSeenShareOption(0.6),
    minHits: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(1)
      .describe('Samples a person track must have been detected in to count'),
    maxMissed: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(1)
      .describe('A person missed for more than this many samples (hidden in the crowd) no longer counts'),
    graceSec: z
      .number()
      .min(0)
      .max(3_600)
      .default(15)
      .describe('A count below minPeople for at most this long does not end the gathering'),
  })
  .describe('crowd_gathering options');
export type CrowdGatheringOptions = z.infer<typeof CrowdGatheringOptionsSchema>;

export default definePlugin<CrowdGatheringOptions>({
  optionsSchema: CrowdGatheringOptionsSchema,
  createRule({ options }) {
    /** Per zone: when the gathering began, when it last held, and its peak count. */
    const episodes = new Map<string, { start: number; lastOk: number; peak: number }>();
    /** Per zone: when its last episode ended; a new one never starts before it. */
    const ended = new Map<string, number>();
    let activeSince: number | null = null;
    const seen = createSeenShare();
    return {
      evaluate(input) {
        const at = input.frame.at;
        if (!input.active) {
          episodes.clear();
          ended.clear();
          activeSince = null;
          seen.clear();
          return [];
        }
        activeSince ??= at;
        seen.observe(input);
        const zones = filterZones(input.zones, options.zones);
        const byZone = new Map<string, TrackedObject[]>();
        for (const t of input.tracks) {
          if (t.label !== 'person' || t.score < options.minScore || t.hits < options.minHits) continue;
          if (t.missed > options.maxMissed) continue;
          const z = zoneOf(t.box, zones);
          if (z) byZone.set(z.id, [...(byZone.get(z.id) ?? []), t]);
        }
        const out: RuleEmission[] = [];
        for (const zone of zones) {
          const people = byZone.get(zone.id) ?? [];
          // A "standing" chain of different passers-by misses many samples: it is not standing.
          const standing = people.filter(
            (p) => p.stationarySince !== null && seen.share(p.trackId) >= options.minSeenShare,
          ).length;
          const ok =
            people.length >= options.minPeople &&
            standing >= Math.ceil(options.minStationaryShare * people.length);
          let ep = episodes.get(zone.id);
          if (ok) {
            if (!ep) {
              // The crowd formed when the minPeople-th person stopped, not when we first
              // counted enough standing people (standing is only known from the 2nd sample).
              const since = people.map((p) => p.stationarySince ?? at).sort((a, b) => a - b);
              const formed = since[options.minPeople - 1] ?? at;
              const start = Math.max(formed, ended.get(zone.id) ?? -Infinity, activeSince);
              episodes.set(zone.id, (ep = { start, lastOk: at, peak: 0 }));
            }
            ep.lastOk = at;
            ep.peak = Math.max(ep.peak, people.length);
          } else if (ep && at - ep.lastOk > options.graceSec * 1_000) {
            episodes.delete(zone.id);
            ended.set(zone.id, at);
            ep = undefined;
          }
          if (!ep || !ok || at - ep.start < dwellMs(options.dwellSec, zone.id, input.dwellFactor)) continue;
          out.push({
            type: 'crowd_gathering',
            key: `crowd_gathering:${zone.id}:${ep.start}`,
            zoneId: zone.id,
            score: round(people.reduce((s, p) => s + p.score, 0) / people.length),
            trackIds: people.map((p) => p.trackId),
            boxes: people.map(boxOf),
            firstSeen: ep.start,
            lastSeen: at,
            placeKey: `crowd:${zone.id}`,
            details: { people: people.length, standing, peak: ep.peak, zoneName: zone.name },
          });
        }
        for (const id of episodes.keys()) if (!zones.some((z) => z.id === id)) episodes.delete(id);
        for (const id of ended.keys()) if (!zones.some((z) => z.id === id)) ended.delete(id);
        return out;
      },
    };
  },
});
