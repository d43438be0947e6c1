import { describe, expect, it } from 'vitest';
import plugin, {
  StreetVendingOptionsSchema,
} from '../../../features/detectors/plugins/street_vending/index.js';
import { det, feed, firstHit, keys, makeRule, rect, repeat } from './helpers.js';
import type { DetectedObject } from '../../../features/detectors/plugin-api/contract.js';

const ZONE = rect('pavement', 0.1, 0.4, 0.9, 0.95, '解放路人行道');
const VENDOR = det('person', { x1: 0.4, y1: 0.45, x2: 0.45, y2: 0.65 }, 0.6);
const TABLE = det('dining table', { x1: 0.46, y1: 0.56, x2: 0.56, y2: 0.66 }, 0.35);
const UMBRELLA = det('umbrella', { x1: 0.36, y1: 0.38, x2: 0.5, y2: 0.46 }, 0.4);
const STALL: DetectedObject[] = [VENDOR, TABLE, UMBRELLA];

describe('street_vending', () => {
  it('raises one event for a vendor standing by goods for dwellSec (600 s)', async () => {
    const out = await feed(makeRule(plugin), repeat(130, STALL), { zones: [ZONE] });
    expect(firstHit(out)).toBe(120);
    expect(keys(out)).toHaveLength(1);
    const e = out[129]![0]!;
    expect(e.details).toMatchObject({ people: 1, cues: ['dining table', 'umbrella'] });
    expect(e.trackIds).toHaveLength(3);
  });

  it('does not count people who pass, even with bags, nor a person standing without goods', async () => {
    const passing = repeat(150, (i) => [
      det('person', { x1: 0.1 + ((i * 0.05) % 0.7), y1: 0.5, x2: 0.15 + ((i * 0.05) % 0.7), y2: 0.7 }, 0.6),
      det(
        'handbag',
        { x1: 0.15 + ((i * 0.05) % 0.7), y1: 0.6, x2: 0.18 + ((i * 0.05) % 0.7), y2: 0.65 },
        0.4,
      ),
    ]);
    expect((await feed(makeRule(plugin), passing, { zones: [ZONE] })).flat()).toEqual([]);
    const waiting = repeat(150, [VENDOR]);
    expect((await feed(makeRule(plugin), waiting, { zones: [ZONE] })).flat()).toEqual([]);
  });

  it('treats a bag inside the person’s box as carried, not displayed', async () => {
    const carried = det('handbag', { x1: 0.41, y1: 0.55, x2: 0.44, y2: 0.6 }, 0.5);
    expect(
      (
        await feed(makeRule(plugin, { dwellSec: 60 }), repeat(30, [VENDOR, carried]), { zones: [ZONE] })
      ).flat(),
    ).toEqual([]);
    const onGround = det('suitcase', { x1: 0.46, y1: 0.6, x2: 0.5, y2: 0.66 }, 0.4);
    expect(
      firstHit(
        await feed(makeRule(plugin, { dwellSec: 60 }), repeat(30, [VENDOR, onGround]), { zones: [ZONE] }),
      ),
    ).toBe(12);
  });

  it('needs cues in minCueShare of the samples', async () => {
    // Cues seen in one sample of four: below the default share of 0.5.
    const rare = repeat(150, (i) => (i % 4 === 0 ? STALL : [VENDOR]));
    expect(
      (
        await feed(makeRule(plugin), rare, {
          zones: [ZONE],
          tracker: { graceStationarySec: 0, graceSec: 0 },
        })
      ).flat(),
    ).toEqual([]);
    const often = repeat(150, (i) => (i % 4 === 0 ? [VENDOR] : STALL));
    expect(
      firstHit(
        await feed(makeRule(plugin), often, {
          zones: [ZONE],
          tracker: { graceStationarySec: 0, graceSec: 0 },
        }),
      ),
    ).toBeGreaterThanOrEqual(120);
  });

  it('honours zones, schedule and dwellFactor', async () => {
    const outside = repeat(
      130,
      STALL.map((d) => ({ ...d, box: { ...d.box, y1: d.box.y1 - 0.38, y2: d.box.y2 - 0.38 } })),
    );
    expect((await feed(makeRule(plugin), outside, { zones: [ZONE] })).flat()).toEqual([]);
    expect(
      (await feed(makeRule(plugin), repeat(130, STALL, { active: false }), { zones: [ZONE] })).flat(),
    ).toEqual([]);
    expect(
      firstHit(
        await feed(makeRule(plugin), repeat(130, STALL), { zones: [ZONE], dwellFactor: { pavement: 0.5 } }),
      ),
    ).toBe(60);
  });

  it('re-arms when the vendor leaves and comes back later as a new track', async () => {
    const samples = [...repeat(20, STALL), ...repeat(15, []), ...repeat(20, STALL)];
    const out = await feed(makeRule(plugin, { dwellSec: 60 }), samples, { zones: [ZONE] });
    expect(keys(out)).toHaveLength(2);
  });

  it('rejects unknown options', () => {
    expect(StreetVendingOptionsSchema.safeParse({ cue: ['umbrella'] }).success).toBe(false);
  });
});
