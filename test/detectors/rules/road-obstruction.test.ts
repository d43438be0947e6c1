import { describe, expect, it } from 'vitest';
import plugin, {
  RoadObstructionOptionsSchema,
} from '../../../features/detectors/plugins/road_obstruction/index.js';
import { det, feed, firstHit, keys, makeRule, rect, repeat, type Sample } from './helpers.js';
import { FRAME, background, fillRect, H, noisy, W } from './synthetic-frames.js';

const ROAD = rect('lane', 0.1, 0.4, 0.9, 0.98, '辅路');
const BG = background(7);
const dims = FRAME;

/** A pile of material (brown, 40×24 px) on the road from sample `from` on, at x. */
function withPile(i: number, from: number, x = (_i: number) => 100): Uint8Array {
  const px = noisy(BG, 1_000 + i);
  if (i >= from) fillRect(px, x(i), 120, x(i) + 40, 144, [150, 110, 60]);
  return px;
}

describe('road_obstruction: objects', () => {
  it('raises a stationary non-vehicle object in the road zone after dwellSec', async () => {
    const rule = makeRule(plugin, { dwellSec: 60, pixels: { enabled: false } });
    const suitcase = det('suitcase', { x1: 0.4, y1: 0.6, x2: 0.46, y2: 0.7 }, 0.4);
    const out = await feed(
      rule,
      repeat(20, [
        suitcase,
        det('person', { x1: 0.2, y1: 0.5, x2: 0.25, y2: 0.7 }, 0.6),
        det('car', { x1: 0.6, y1: 0.5, x2: 0.75, y2: 0.65 }),
      ]),
      {
        zones: [ROAD],
      },
    );
    expect(firstHit(out)).toBe(12);
    expect(keys(out)).toEqual([expect.stringMatching(/^road_obstruction:obj:/)]); // not the person nor the car
    expect(out[19]![0]!.details).toMatchObject({ source: 'object', label: 'suitcase' });
  });
});

describe('road_obstruction: background change (heuristic)', () => {
  const opts = { dwellSec: 60 };

  it('raises a lasting change in the road zone once it has stayed dwellSec', async () => {
    const samples: Sample[] = Array.from({ length: 30 }, (_, i) => ({ objects: [], rgb: withPile(i, 5) }));
    const out = await feed(makeRule(plugin, opts), samples, { zones: [ROAD], ...dims });
    expect(firstHit(out)).toBe(17); // appeared at sample 5, 60 s = 12 samples later
    expect(keys(out)).toHaveLength(1);
    const e = out[29]![0]!;
    expect(e.details).toMatchObject({ source: 'background-change', heuristic: true });
    // The box is where the pile is: x 100-140 of 256, y 120-144 of 192.
    expect(e.boxes[0]!.x1).toBeCloseTo(100 / W, 1);
    expect(e.boxes[0]!.y2).toBeCloseTo(144 / H, 1);
  });

  it('ignores a thing that keeps moving, a change outside the zone, and an unchanged scene', async () => {
    const moving: Sample[] = Array.from({ length: 30 }, (_, i) => ({
      objects: [],
      rgb: withPile(i, 0, (k) => 10 + ((k * 45) % 200)),
    }));
    expect((await feed(makeRule(plugin, opts), moving, { zones: [ROAD], ...dims })).flat()).toEqual([]);
    const elsewhere: Sample[] = Array.from({ length: 30 }, (_, i) => {
      const px = noisy(BG, 2_000 + i);
      if (i >= 5) fillRect(px, 100, 10, 140, 40, [150, 110, 60]);
      return { objects: [], rgb: px };
    });
    expect((await feed(makeRule(plugin, opts), elsewhere, { zones: [ROAD], ...dims })).flat()).toEqual([]);
    const still: Sample[] = Array.from({ length: 30 }, (_, i) => ({
      objects: [],
      rgb: noisy(BG, 3_000 + i),
    }));
    expect((await feed(makeRule(plugin, opts), still, { zones: [ROAD], ...dims })).flat()).toEqual([]);
  });

  it('leaves cells under people and vehicles to the other rules', async () => {
    // The "pile" is where a parked car is tracked: no obstruction from pixels.
    const car = det('car', { x1: 95 / W, y1: 115 / H, x2: 145 / W, y2: 149 / H }, 0.5);
    const samples: Sample[] = Array.from({ length: 30 }, (_, i) => ({
      objects: i >= 5 ? [car] : [],
      rgb: withPile(i, 5),
    }));
    expect((await feed(makeRule(plugin, opts), samples, { zones: [ROAD], ...dims })).flat()).toEqual([]);
  });

  it('treats a frame-wide change (lights, exposure, moved camera) as a new background', async () => {
    const samples: Sample[] = Array.from({ length: 30 }, (_, i) => ({
      objects: [],
      // Dusk: the whole frame darkens by 40% at sample 5 and stays so.
      rgb: noisy(BG, 4_000 + i, 4, i >= 5 ? 0.6 : 1),
    }));
    expect((await feed(makeRule(plugin, opts), samples, { zones: [ROAD], ...dims })).flat()).toEqual([]);
    // Half the frame changing (a moved camera) re-learns too.
    const moved: Sample[] = Array.from({ length: 30 }, (_, i) => {
      const px = noisy(BG, 5_000 + i);
      if (i >= 5) fillRect(px, 0, 60, W, H, [40, 90, 40]);
      return { objects: [], rgb: px };
    });
    expect((await feed(makeRule(plugin, opts), moved, { zones: [ROAD], ...dims })).flat()).toEqual([]);
  });

  it('honours the schedule and dwellFactor', async () => {
    const samples = (active: (i: number) => boolean): Sample[] =>
      Array.from({ length: 40 }, (_, i) => ({ objects: [], rgb: withPile(i, 5), active: active(i) }));
    expect(
      (
        await feed(
          makeRule(plugin, opts),
          samples(() => false),
          { zones: [ROAD], ...dims },
        )
      ).flat(),
    ).toEqual([]);
    // Window opens at sample 10: the background is learnt then (pile included), so nothing is "new".
    expect(
      (
        await feed(
          makeRule(plugin, opts),
          samples((i) => i >= 10),
          { zones: [ROAD], ...dims },
        )
      ).flat(),
    ).toEqual([]);
    const slow = await feed(
      makeRule(plugin, opts),
      samples(() => true),
      { zones: [ROAD], dwellFactor: { lane: 2 }, ...dims },
    );
    expect(firstHit(slow)).toBe(29);
  });

  it('rejects unknown pixel options', () => {
    expect(RoadObstructionOptionsSchema.safeParse({ pixels: { threshold: 3 } }).success).toBe(false);
  });
});
