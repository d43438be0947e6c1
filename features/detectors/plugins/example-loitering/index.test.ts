/**
 * Test for the example plugin: detections go through the real tracker into the rule, the way
 * the pipeline feeds it, one sample every 5 s.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import plugin, { LoiteringOptionsSchema } from './index.js';
import { createTracker } from '../../tracker/tracker.js';
import type { DetectedObject, RuleEmission, RuleInput, ZoneView } from '../../plugin-api/contract.js';

const ZONE: ZoneView = {
  id: 'gate',
  name: '校门口',
  polygon: [
    [0.4, 0.4],
    [0.8, 0.4],
    [0.8, 0.9],
    [0.4, 0.9],
  ],
};
const STANDING: DetectedObject = {
  label: 'person',
  score: 0.6,
  box: { x1: 0.55, y1: 0.5, x2: 0.6, y2: 0.7 },
};

/** Runs `samples` (detections per 5 s sample) through tracker and rule; returns each sample's emissions. */
function run(
  samples: DetectedObject[][],
  opts: Partial<RuleInput> = {},
  options: unknown = {},
): RuleEmission[][] {
  const rule = plugin.createRule!({
    cameraId: 'cam-1',
    options: LoiteringOptionsSchema.parse(options),
    logger: pino({ level: 'silent' }),
  });
  const tracker = createTracker();
  return samples.map((objs, i) => {
    const at = 1_000_000 + i * 5_000;
    const tracks = tracker.update(objs, at);
    const out = rule.evaluate({
      frame: { cameraId: 'cam-1', at, width: 512, height: 512 },
      tracks,
      zones: [ZONE],
      active: true,
      inferred: true,
      dwellFactor: {},
      ...opts,
    });
    if (out instanceof Promise) throw new Error('loitering is synchronous');
    return out;
  });
}

describe('example-loitering', () => {
  it('fires once the person has stood in the zone for dwellSec, with one stable key', () => {
    // 30 samples × 5 s = 145 s of standing; dwell 120 s counts from the first sample.
    const out = run(Array.from({ length: 30 }, () => [STANDING]));
    const firstHit = out.findIndex((e) => e.length > 0);
    expect(firstHit).toBe(24); // 24 × 5 s = 120 s
    const keys = new Set(out.flat().map((e) => e.key));
    expect(keys.size).toBe(1);
    expect(out[29]![0]).toMatchObject({ type: 'loitering', zoneId: 'gate', firstSeen: 1_000_000 });
  });

  it('ignores people walking through and people outside the zone', () => {
    const walking = Array.from({ length: 30 }, (_, i) => [
      { ...STANDING, box: { x1: 0.02 * i, y1: 0.5, x2: 0.02 * i + 0.05, y2: 0.7 } },
    ]);
    expect(run(walking).flat()).toEqual([]);
    const outside = Array.from({ length: 30 }, () => [
      { ...STANDING, box: { x1: 0.1, y1: 0.1, x2: 0.15, y2: 0.3 } },
    ]);
    expect(run(outside).flat()).toEqual([]);
  });

  it('honours the schedule (inactive = nothing, clocks restart) and dwellFactor', () => {
    expect(
      run(
        Array.from({ length: 30 }, () => [STANDING]),
        { active: false },
      ).flat(),
    ).toEqual([]);
    // Factor 2 doubles the dwell to 240 s: 30 samples (145 s) are not enough.
    expect(
      run(
        Array.from({ length: 30 }, () => [STANDING]),
        { dwellFactor: { gate: 2 } },
      ).flat(),
    ).toEqual([]);
  });

  it('rejects unknown options (a typo in camera YAML must not pass silently)', () => {
    expect(LoiteringOptionsSchema.safeParse({ dwelSec: 10 }).success).toBe(false);
  });
});
