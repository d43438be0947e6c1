import { describe, expect, it } from 'vitest';
import plugin, { FireSmokeOptionsSchema } from '../../../features/detectors/plugins/fire_smoke/index.js';
import { det, feed, firstHit, keys, makeRule, rect, type Sample } from './helpers.js';
import { FRAME, background, drawFlames, drawSmoke, fillRect, H, noisy, W } from './synthetic-frames.js';

const BG = background(11);
const dims = FRAME;

function scene(
  n: number,
  draw: (px: Uint8Array, i: number) => void,
  extra: (i: number) => Partial<Sample> = () => ({}),
): Sample[] {
  return Array.from({ length: n }, (_, i) => {
    const px = noisy(BG, 100 + i);
    draw(px, i);
    return { objects: [], rgb: px, ...extra(i) };
  });
}

describe('fire_smoke (heuristic)', () => {
  it('raises flickering flames that stay in place, after minSamples samples', async () => {
    const out = await feed(
      makeRule(plugin),
      scene(10, (px, i) => i >= 3 && drawFlames(px, 120, 150, 24, 40, 7 + i)),
      {
        zones: [],
        ...dims,
      },
    );
    expect(firstHit(out)).toBe(5); // flames from sample 3; third sample in a row is 5
    const e = out[9]!.find((x) => x.details?.kind === 'fire');
    expect(e).toBeDefined();
    expect(e!.zoneId).toBeNull(); // no zone lists fire_smoke: camera-wide
    expect(e!.details).toMatchObject({ heuristic: true });
    expect(keys(out).filter((k) => k.includes(':fire:'))).toHaveLength(1);
  });

  it('ignores fire colours without flicker (a traffic cone) and ones that move on (a red car)', async () => {
    const cone = scene(12, (px) => fillRect(px, 120, 120, 136, 150, [245, 120, 30]));
    expect((await feed(makeRule(plugin), cone, { zones: [], ...dims })).flat()).toEqual([]);
    const car = scene(12, (px, i) => fillRect(px, 10 + i * 20, 130, 50 + i * 20, 150, [235, 60, 40]));
    expect((await feed(makeRule(plugin), car, { zones: [], ...dims })).flat()).toEqual([]);
  });

  it('raises growing smoke and ignores a frame-wide brightening', async () => {
    const smoke = scene(10, (px, i) => i >= 2 && drawSmoke(px, 128, 110, 12 + (i - 2) * 5, i));
    const out = await feed(makeRule(plugin), smoke, { zones: [], ...dims });
    const hit = out.findIndex((e) => e.some((x) => x.details?.kind === 'smoke'));
    expect(hit).toBeGreaterThanOrEqual(4);
    expect(hit).toBeLessThanOrEqual(6);
    const fog: Sample[] = Array.from({ length: 10 }, (_, i) => ({
      objects: [],
      rgb: noisy(BG, 300 + i, 4, i >= 3 ? 1.5 : 1),
    }));
    expect((await feed(makeRule(plugin), fog, { zones: [], ...dims })).flat()).toEqual([]);
  });

  it('ignores grey change under people and vehicles (a grey van pulling in)', async () => {
    const van = det('truck', { x1: 85 / W, y1: 70 / H, x2: 170 / W, y2: 150 / H }, 0.4);
    const grey = (withVan: boolean) =>
      scene(
        10,
        (px, i) => i >= 2 && drawSmoke(px, 128, 110, 12 + (i - 2) * 3, i),
        (i) => ({ objects: withVan && i >= 2 ? [van] : [] }),
      );
    const without = await feed(makeRule(plugin), grey(false), { zones: [], ...dims });
    expect(firstHit(without)).toBeGreaterThan(0); // the same pixels alone do look like smoke
    expect((await feed(makeRule(plugin), grey(true), { zones: [], ...dims })).flat()).toEqual([]);
  });

  it('limits to its zones, honours the schedule, and rejects unknown options', async () => {
    const flames = (extra: (i: number) => Partial<Sample> = () => ({})) =>
      scene(10, (px, i) => i >= 3 && drawFlames(px, 120, 150, 24, 40, 7 + i), extra);
    const far = rect('roof', 0, 0, 0.3, 0.3);
    expect((await feed(makeRule(plugin), flames(), { zones: [far], ...dims })).flat()).toEqual([]);
    const near = rect('yard', 0.3, 0.5, 0.7, 0.95);
    expect(firstHit(await feed(makeRule(plugin), flames(), { zones: [near], ...dims }))).toBe(5);
    expect(
      (
        await feed(
          makeRule(plugin),
          flames(() => ({ active: false })),
          { zones: [], ...dims },
        )
      ).flat(),
    ).toEqual([]);
    expect(FireSmokeOptionsSchema.safeParse({ fire: { flicker: 1 } }).success).toBe(false);
  });
});
