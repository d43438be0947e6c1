import { describe, expect, it } from 'vitest';
import plugin, {
  IllegalParkingOptionsSchema,
} from '../../../features/detectors/plugins/illegal_parking/index.js';
import { det, feed, firstHit, keys, makeRule, rect, repeat, T0, type Sample } from './helpers.js';
import type { DetectedObject, NBox } from '../../../features/detectors/plugin-api/contract.js';

// Laid out like vtest.avi: a no-parking strip at the top right where the van and car stand.
const ZONE = rect('no-park', 0.5, 0.05, 0.95, 0.35, '人民路禁停区');
const VAN: NBox = { x1: 0.7, y1: 0.1, x2: 0.85, y2: 0.25 };
const CAR: NBox = { x1: 0.55, y1: 0.12, x2: 0.65, y2: 0.2 };

/** The van as CenterNet sees it on a street view: 'truck' or 'car' at 0.35-0.45, sometimes missed. */
function van(i: number): DetectedObject[] {
  if (i % 7 === 3) return [];
  return [
    det(i % 3 === 0 ? 'car' : 'truck', { ...VAN, x1: VAN.x1 + (i % 2) * 0.003 }, 0.35 + (i % 5) * 0.02),
  ];
}
function walker(i: number): DetectedObject {
  const x = 0.5 + ((i * 0.04) % 0.45);
  return det('person', { x1: x, y1: 0.12, x2: x + 0.03, y2: 0.26 }, 0.6);
}

describe('illegal_parking', () => {
  it('raises one event per parked vehicle after dwellSec, despite label swaps, misses and passers-by', async () => {
    const rule = makeRule(plugin);
    const samples = repeat(50, (i) => [...van(i), det('car', CAR, 0.42), walker(i)]);
    const out = await feed(rule, samples, { zones: [ZONE] });
    // 180 s at 5 s a sample: the 37th sample (index 36) is the first at 180 s.
    expect(firstHit(out)).toBe(36);
    expect(keys(out)).toHaveLength(2); // van and car, one key each
    const last = out[49]!;
    expect(last.map((e) => e.zoneId)).toEqual(['no-park', 'no-park']);
    expect(last.every((e) => e.firstSeen === T0 && e.lastSeen === T0 + 49 * 5_000)).toBe(true);
    expect(last.every((e) => e.type === 'illegal_parking' && e.placeKey?.startsWith('park:'))).toBe(true);
  });

  it('judges position by the wheels: a vehicle whose bottom-centre is outside the zone does not count', async () => {
    const rule = makeRule(plugin, { dwellSec: 30 });
    // Box top inside the zone, bottom edge (wheels) below it on the pavement.
    const out = await feed(rule, repeat(20, [det('car', { x1: 0.6, y1: 0.25, x2: 0.7, y2: 0.45 }, 0.5)]), {
      zones: [ZONE],
    });
    expect(out.flat()).toEqual([]);
  });

  it('ignores traffic passing through the zone (highway-traffic.avi-like)', async () => {
    const rule = makeRule(plugin, { dwellSec: 30 });
    const samples = repeat(60, (i) => [
      det('car', { x1: 0.5 + ((i * 0.09) % 0.4), y1: 0.15, x2: 0.58 + ((i * 0.09) % 0.4), y2: 0.22 }, 0.45),
      det('truck', { x1: 0.9 - ((i * 0.11) % 0.4), y1: 0.2, x2: 0.98 - ((i * 0.11) % 0.4), y2: 0.3 }, 0.4),
    ]);
    expect((await feed(rule, samples, { zones: [ZONE] })).flat()).toEqual([]);
  });

  it('starts the clock when the schedule window opens, not when the vehicle arrived', async () => {
    const rule = makeRule(plugin);
    const samples: Sample[] = [...repeat(20, van, { active: false }), ...repeat(40, van)];
    const out = await feed(rule, samples, { zones: [ZONE] });
    expect(out.slice(0, 20).flat()).toEqual([]);
    expect(firstHit(out)).toBe(20 + 36);
    expect(out[59]![0]!.firstSeen).toBe(T0 + 20 * 5_000);
  });

  it('multiplies the dwell by the zone’s dwellFactor', async () => {
    const out = await feed(makeRule(plugin), repeat(80, van), {
      zones: [ZONE],
      dwellFactor: { 'no-park': 2 },
    });
    expect(firstHit(out)).toBe(72);
    const other = await feed(makeRule(plugin), repeat(80, van), {
      zones: [ZONE],
      dwellFactor: { elsewhere: 3 },
    });
    expect(firstHit(other)).toBe(36);
  });

  it('re-arms only after the vehicle has left: a new vehicle on the same spot is a new event', async () => {
    const rule = makeRule(plugin, { dwellSec: 60 });
    const samples: Sample[] = [
      ...repeat(20, [det('truck', VAN, 0.4)]),
      ...repeat(12, []), // gone for 60 s, longer than the tracker keeps a stationary track
      ...repeat(20, [det('car', VAN, 0.4)]),
    ];
    const out = await feed(rule, samples, { zones: [ZONE] });
    const k = keys(out);
    expect(k).toHaveLength(2);
    expect(firstHit(out)).toBe(12);
    expect(out.slice(20 + 9, 32).flat()).toEqual([]); // after the track dropped, nothing
    expect(out.slice(32).findIndex((e) => e.length > 0)).toBe(12);
  });

  it('keeps counting through frames the motion gate skipped', async () => {
    const samples: Sample[] = repeat(40, [det('car', CAR, 0.42)]).map((s, i) => ({
      ...s,
      inferred: i % 6 === 0,
    }));
    const out = await feed(makeRule(plugin), samples, { zones: [ZONE] });
    expect(firstHit(out)).toBe(36);
  });

  it('needs a credible track: low scores and one-sample ghosts do not count', async () => {
    const weak = await feed(makeRule(plugin, { dwellSec: 10 }), repeat(20, [det('car', CAR, 0.2)]), {
      zones: [ZONE],
    });
    expect(weak.flat()).toEqual([]);
    const opts = IllegalParkingOptionsSchema.parse({ minHits: 5, dwellSec: 0 });
    const out = await feed(makeRule(plugin, opts), repeat(8, [det('car', CAR, 0.5)]), { zones: [ZONE] });
    expect(firstHit(out)).toBe(4);
  });

  it('restricts to listed zones and rejects bad options', async () => {
    const out = await feed(
      makeRule(plugin, { zones: ['other'], dwellSec: 10 }),
      repeat(10, [det('car', CAR)]),
      {
        zones: [ZONE],
      },
    );
    expect(out.flat()).toEqual([]);
    expect(IllegalParkingOptionsSchema.safeParse({ dwellSec: -1 }).success).toBe(false);
    expect(IllegalParkingOptionsSchema.safeParse({ classes: [] }).success).toBe(false);
  });
});
