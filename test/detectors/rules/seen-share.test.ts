import { describe, expect, it } from 'vitest';
import loitering from '../../../features/detectors/plugins/example-loitering/index.js';
import vending from '../../../features/detectors/plugins/street_vending/index.js';
import { createSeenShare } from '../../../features/detectors/rules-lib/seen-share.js';
import { det, feed, firstHit, makeRule, rect, repeat } from './helpers.js';

const ZONE = rect('z', 0.1, 0.1, 0.9, 0.9);
const SPOT = { x1: 0.5, y1: 0.4, x2: 0.54, y2: 0.55 };

describe('seen share (passers-by chained at one spot)', () => {
  it('counts detected samples over samples since first seen, inferred frames only', () => {
    const s = createSeenShare();
    const t = {
      trackId: 'a',
      label: 'person',
      score: 0.5,
      box: SPOT,
      firstSeen: 0,
      lastSeen: 0,
      stationarySince: null,
      hits: 1,
    };
    s.observe({ inferred: true, tracks: [{ ...t, missed: 0 }] });
    s.observe({ inferred: true, tracks: [{ ...t, missed: 1 }] });
    s.observe({ inferred: false, tracks: [{ ...t, missed: 1 }] });
    s.observe({ inferred: true, tracks: [{ ...t, missed: 0 }] });
    expect(s.share('a')).toBeCloseTo(2 / 3, 6);
    s.observe({ inferred: true, tracks: [] });
    expect(s.share('a')).toBe(1); // forgotten once the track is gone
  });

  it('a spot that someone crosses every other sample is not a person standing there', async () => {
    // Different walkers on a common path: seen, missed, seen, missed… the tracker keeps one
    // track through the gaps, and its box is within the stationary tolerance.
    const chain = repeat(40, (i) => (i % 2 === 0 ? [det('person', SPOT, 0.6)] : []));
    expect((await feed(makeRule(loitering, { dwellSec: 60 }), chain, { zones: [ZONE] })).flat()).toEqual([]);
    const standing = repeat(40, [det('person', SPOT, 0.6)]);
    expect(firstHit(await feed(makeRule(loitering, { dwellSec: 60 }), standing, { zones: [ZONE] }))).toBe(12);
    // The same guard keeps a "vendor" made of passers-by from being raised.
    const table = det('dining table', { x1: 0.55, y1: 0.5, x2: 0.65, y2: 0.58 }, 0.4);
    const stall = repeat(40, (i) => (i % 2 === 0 ? [det('person', SPOT, 0.6), table] : [table]));
    expect((await feed(makeRule(vending, { dwellSec: 60 }), stall, { zones: [ZONE] })).flat()).toEqual([]);
  });
});
