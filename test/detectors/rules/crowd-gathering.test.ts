import { describe, expect, it } from 'vitest';
import plugin from '../../../features/detectors/plugins/crowd_gathering/index.js';
import { det, feed, firstHit, keys, makeRule, rect, repeat } from './helpers.js';
import type { DetectedObject } from '../../../features/detectors/plugin-api/contract.js';

const ZONE = rect('square', 0.05, 0.3, 0.95, 0.95, '文化广场');

/** n people standing in a loose group inside the zone. */
function group(n: number): DetectedObject[] {
  return Array.from({ length: n }, (_, k) => {
    const x = 0.1 + (k % 6) * 0.12;
    const y = 0.4 + Math.floor(k / 6) * 0.25;
    return det('person', { x1: x, y1: y, x2: x + 0.05, y2: y + 0.18 }, 0.55);
  });
}

describe('crowd_gathering', () => {
  it('raises one event when at least minPeople stand in the zone for dwellSec', async () => {
    const out = await feed(makeRule(plugin), repeat(40, group(12)), { zones: [ZONE] });
    expect(firstHit(out)).toBe(24); // 120 s
    expect(keys(out)).toHaveLength(1);
    expect(out[39]![0]!.details).toMatchObject({ people: 12, standing: 12, peak: 12 });
    expect(out[39]![0]!.boxes).toHaveLength(12);
  });

  it('does not count a busy pavement of walkers, nor a group below minPeople', async () => {
    // Twelve people in view at any time, each walking at their own pace (0.05-0.13 of the
    // frame per sample, ~1-2 m/s), wrapping round to keep the pavement busy.
    const walkers = repeat(40, (i) =>
      group(12).map((d, k) => {
        const dx = ((d.box.x1 + i * (0.05 + 0.007 * k)) % 0.85) - d.box.x1;
        return { ...d, box: { ...d.box, x1: d.box.x1 + dx, x2: d.box.x2 + dx } };
      }),
    );
    expect((await feed(makeRule(plugin), walkers, { zones: [ZONE] })).flat()).toEqual([]);
    expect((await feed(makeRule(plugin), repeat(40, group(8)), { zones: [ZONE] })).flat()).toEqual([]);
    expect(
      firstHit(await feed(makeRule(plugin, { minPeople: 8 }), repeat(40, group(8)), { zones: [ZONE] })),
    ).toBe(24);
  });

  it('rides out a short dip in the count (occlusion) but ends the episode after graceSec', async () => {
    const dip = [...repeat(30, group(12)), ...repeat(2, group(7)), ...repeat(10, group(12))];
    const outDip = await feed(makeRule(plugin), dip, { zones: [ZONE] });
    expect(keys(outDip)).toHaveLength(1);
    const gap = [...repeat(30, group(12)), ...repeat(6, group(7)), ...repeat(30, group(12))];
    const outGap = await feed(makeRule(plugin), gap, { zones: [ZONE] });
    expect(keys(outGap)).toHaveLength(2);
    // Sample 30 still counts the five who vanished (missed once is allowed); the count is low
    // from sample 31 and the episode ends at 34 (more than 15 s). The five come back at 36 as
    // new tracks (person tracks end after two missed samples), so the crowd re-forms at 36 and
    // fires 120 s later, at sample 60.
    expect(outGap.slice(31).findIndex((e) => e.length > 0) + 31).toBe(60);
  });

  it('honours zones, schedule and dwellFactor', async () => {
    const other = rect('road', 0, 0, 1, 0.2);
    expect((await feed(makeRule(plugin), repeat(40, group(12)), { zones: [other] })).flat()).toEqual([]);
    expect(
      (await feed(makeRule(plugin), repeat(40, group(12), { active: false }), { zones: [ZONE] })).flat(),
    ).toEqual([]);
    expect(
      firstHit(
        await feed(makeRule(plugin), repeat(60, group(12)), { zones: [ZONE], dwellFactor: { square: 1.5 } }),
      ),
    ).toBe(36);
  });
});
