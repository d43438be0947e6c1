import { describe, expect, it } from 'vitest';
import { createTracker, iou, median } from '../../../features/detectors/tracker/tracker.js';
import type { DetectedObject, NBox } from '../../../features/detectors/plugin-api/contract.js';
import { GridwatchError } from '../../../core/errors.js';

const S = 5_000;
const T0 = 1_700_000_000_000;

function det(label: string, box: NBox, score = 0.5): DetectedObject {
  return { label, score, box };
}
function shift(b: NBox, dx: number, dy = 0): NBox {
  return { x1: b.x1 + dx, y1: b.y1 + dy, x2: b.x2 + dx, y2: b.y2 + dy };
}

const VAN: NBox = { x1: 0.7, y1: 0.1, x2: 0.85, y2: 0.25 };
const CAR: NBox = { x1: 0.55, y1: 0.12, x2: 0.65, y2: 0.2 };

describe('tracker', () => {
  it('keeps a parked vehicle through missed samples and label swaps', () => {
    const tr = createTracker();
    const labels = ['truck', 'car', 'truck', null, null, 'truck', 'car', null, 'truck'];
    const ids = new Set<string>();
    labels.forEach((l, i) => {
      const out = tr.update(l ? [det(l, shift(VAN, (i % 2) * 0.004), 0.38)] : [], T0 + i * S);
      expect(out).toHaveLength(1);
      ids.add(out[0]!.trackId);
      if (l === null) expect(out[0]!.missed).toBeGreaterThan(0);
      else expect(out[0]!.missed).toBe(0);
    });
    expect(ids.size).toBe(1);
    const [t] = tr.tracks();
    expect(t!.stationarySince).toBe(T0);
    expect(t!.hits).toBe(6);
    expect(t!.label).toBe('truck'); // strongest accumulated label, not the latest
    expect(t!.firstSeen).toBe(T0);
    expect(t!.lastSeen).toBe(T0 + 8 * S);
  });

  it('keeps parked identities while people walk past and occlude them', () => {
    const tr = createTracker();
    let first: string[] = [];
    for (let i = 0; i < 12; i++) {
      const objs: DetectedObject[] = [];
      // The van disappears behind pedestrians on samples 4 and 5 (occluded).
      if (i !== 4 && i !== 5) objs.push(det('truck', VAN, 0.38));
      objs.push(det('car', CAR, 0.42));
      // A pedestrian crossing right in front of the vehicles, one step per sample.
      const p: NBox = { x1: 0.5 + i * 0.03, y1: 0.1, x2: 0.53 + i * 0.03, y2: 0.24 };
      objs.push(det('person', p, 0.6));
      const out = tr.update(objs, T0 + i * S);
      const vehicles = out.filter((t) => t.label !== 'person').map((t) => t.trackId);
      if (i === 0) first = vehicles;
      expect(vehicles).toEqual(first);
    }
    const vehicles = tr.tracks().filter((t) => t.label !== 'person');
    expect(vehicles.every((t) => t.stationarySince === T0)).toBe(true);
    // The person never shares a track with a vehicle.
    expect(
      tr
        .tracks()
        .filter((t) => t.label === 'person')
        .every((t) => !first.includes(t.trackId)),
    ).toBe(true);
  });

  it('drops unmatched tracks after a grace in seconds, whatever the sampling interval', () => {
    for (const step of [1_000, 5_000]) {
      const tr = createTracker({ graceSec: 8, graceStationarySec: 20, gracePersonSec: 3 });
      const walker = (i: number): NBox => ({ x1: 0.1 + i * 0.1, y1: 0.5, x2: 0.15 + i * 0.1, y2: 0.7 });
      tr.update([det('car', CAR), det('person', walker(0)), det('bicycle', walker(0))], T0);
      tr.update([det('car', CAR)], T0 + 3_000); // car stationary from now on
      const labels = (at: number) =>
        tr
          .update([], at)
          .map((t) => t.label)
          .sort();
      // The person's 3 s are up first, then the moving bicycle's 8 s, then the parked car's 20 s.
      expect(labels(T0 + 3_000 + step)).toEqual(['bicycle', 'car']);
      expect(labels(T0 + 9_000)).toEqual(['car']);
      expect(labels(T0 + 23_000)).toEqual(['car']);
      expect(labels(T0 + 23_001 + step)).toEqual([]);
    }
  });

  it('carry() holds what the last inferred sample saw and ages what it missed', () => {
    const tr = createTracker({ graceSec: 4, graceStationarySec: 4, gracePersonSec: 4 });
    const spot: NBox = { x1: 0.5, y1: 0.4, x2: 0.55, y2: 0.6 };
    tr.update([det('car', CAR), det('person', spot)], T0);
    tr.update([det('car', CAR)], T0 + 1_000); // the person is missed once: they left
    for (let i = 2; i <= 60; i++) tr.carry(T0 + i * 1_000); // the gate skips a minute of samples
    const held = tr.tracks();
    expect(held.map((t) => t.label)).toEqual(['car']);
    expect(held[0]!.missed).toBe(0);
    expect(held[0]!.hits).toBe(2);
    // The next person at the same spot gets a new track, not the old one and its dwell.
    const out = tr.update([det('car', CAR), det('person', spot)], T0 + 61_000);
    const p = out.find((t) => t.label === 'person')!;
    expect(p.firstSeen).toBe(T0 + 61_000);
    expect(out.find((t) => t.label === 'car')!.stationarySince).toBe(T0);
  });

  it('does not match a track whose grace ran out, even when the next sample comes late', () => {
    const tr = createTracker({ gracePersonSec: 3 });
    const spot: NBox = { x1: 0.5, y1: 0.4, x2: 0.55, y2: 0.6 };
    const first = tr.update([det('person', spot)], T0)[0]!.trackId;
    tr.update([], T0 + 1_000);
    tr.update([], T0 + 3_000); // missed, still within its 3 s
    const next = tr.update([det('person', spot)], T0 + 4_000)[0]!; // 4 s after last seen
    expect(next.trackId).not.toBe(first);
  });

  it('carry() counts held time towards stationaryMinSec', () => {
    const tr = createTracker({ stationaryMinSec: 2 });
    const spot: NBox = { x1: 0.5, y1: 0.4, x2: 0.55, y2: 0.6 };
    tr.update([det('person', shift(spot, -0.1))], T0);
    tr.update([det('person', spot)], T0 + 1_000); // stepped in: moving, anchored here
    expect(tr.carry(T0 + 2_000)[0]!.stationarySince).toBeNull();
    expect(tr.carry(T0 + 3_000)[0]!.stationarySince).toBe(T0 + 1_000);
  });

  it('resets stationarySince when the box moves beyond the tolerance, relative to its size', () => {
    const tr = createTracker();
    tr.update([det('car', CAR)], T0);
    tr.update([det('car', shift(CAR, 0.01))], T0 + S); // 0.01 < 0.25 × 0.1
    expect(tr.tracks()[0]!.stationarySince).toBe(T0);
    const moved = tr.update([det('car', shift(CAR, 0.05))], T0 + 2 * S); // 0.05 > 0.025: moving
    expect(moved).toHaveLength(1);
    expect(moved[0]!.stationarySince).toBeNull();
    const again = tr.update([det('car', shift(CAR, 0.05))], T0 + 3 * S);
    expect(again[0]!.stationarySince).toBe(T0 + 2 * S);
    expect(again[0]!.trackId).toBe(moved[0]!.trackId);
    // Slow creep adds up against the anchor instead of being forgiven sample by sample.
    let t = tr.tracks()[0]!;
    for (let i = 1; i <= 4; i++)
      t = tr.update([det('car', shift(CAR, 0.05 + i * 0.012))], T0 + (3 + i) * S)[0]!;
    expect(t.stationarySince).not.toBe(T0 + 2 * S);
  });

  it('does not match across families, and passing walkers never become stationary', () => {
    const tr = createTracker();
    tr.update([det('person', CAR)], T0);
    const out = tr.update([det('car', CAR)], T0 + 1_000);
    expect(out).toHaveLength(2);
    const walker = createTracker();
    for (let i = 0; i < 8; i++) {
      // 1.3 m/s over 5 s is several body widths per sample.
      walker.update(
        [det('person', { x1: 0.05 + i * 0.1, y1: 0.5, x2: 0.09 + i * 0.1, y2: 0.62 })],
        T0 + i * S,
      );
    }
    expect(walker.tracks().every((t) => t.stationarySince === null)).toBe(true);
  });

  it('smooths the box and takes the median score of the track', () => {
    const tr = createTracker({ smoothing: 0.5, scoreWindow: 5 });
    tr.update([det('car', CAR, 0.4)], T0);
    const out = tr.update([det('car', shift(CAR, 0.02), 0.6)], T0 + S);
    expect(out[0]!.box.x1).toBeCloseTo(CAR.x1 + 0.01, 6);
    expect(out[0]!.score).toBeCloseTo(0.5, 6);
    expect(iou(out[0]!.box, CAR)).toBeGreaterThan(0.7);
    // One lucky 0.95 among 0.4s does not lift the track; a window of 5 forgets old scores.
    let t = out[0]!;
    for (const [i, sc] of [0.95, 0.4, 0.4, 0.8, 0.8, 0.8].entries())
      t = tr.update([det('car', CAR, sc)], T0 + (2 + i) * S)[0]!;
    expect(median([0.4, 0.6, 0.95])).toBe(0.6);
    expect(t.score).toBeCloseTo(0.8, 6);
  });

  it('judges stillness in frame units: a near walker is not standing, a jittering stander is', () => {
    const near: NBox = { x1: 0.3, y1: 0.1, x2: 0.5, y2: 0.95 }; // a person close to the lens
    const walk = createTracker();
    // 0.06 of the frame per second: under the old tolerance (0.25 × 0.85 box) this was "still".
    for (let i = 0; i < 6; i++) walk.update([det('person', shift(near, i * 0.06), 0.9)], T0 + i * 1_000);
    expect(walk.tracks()).toHaveLength(1);
    expect(walk.tracks()[0]!.stationarySince).toBeNull();
    const stand = createTracker();
    const out: Array<number | null> = [];
    for (let i = 0; i < 6; i++) {
      const jitter = ((i % 3) - 1) * 0.012;
      out.push(
        stand.update([det('person', shift(near, jitter, jitter / 2), 0.9)], T0 + i * 1_000)[0]!
          .stationarySince,
      );
    }
    // Stationary only after stationaryMinSec (2 s) within the radius, then since the anchor.
    expect(out).toEqual([null, null, T0, T0, T0, T0]);
  });

  it('rejects bad options and a clock that goes backwards with a GridwatchError', () => {
    expect(() => createTracker({ iouThreshold: 2 })).toThrow(/iouThreshold/);
    const tr = createTracker();
    tr.update([], T0);
    let err: unknown;
    try {
      tr.update([], T0 - 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GridwatchError);
    expect((err as GridwatchError).code).toBe('GW_VALIDATION');
  });

  it('ignores invalid boxes and gives unique ids per tracker', () => {
    const tr = createTracker({ idPrefix: 'cam1-' });
    const out = tr.update(
      [det('car', { x1: 0.5, y1: 0.5, x2: 0.4, y2: 0.6 }), det('car', CAR), det('bus', VAN)],
      T0,
    );
    expect(out.map((t) => t.trackId)).toEqual(['cam1-1', 'cam1-2']);
  });
});

describe('tracker: people at a shared spot', () => {
  it('does not hand a person’s track to the next person at the same spot', () => {
    const tr = createTracker();
    const spot: NBox = { x1: 0.5, y1: 0.4, x2: 0.55, y2: 0.6 };
    const at = (s: number) => T0 + s * 1_000;
    for (let i = 0; i < 10; i++) tr.update([det('person', spot, 0.6)], at(i));
    const first = tr.tracks()[0]!.trackId;
    // The first person has left; the next steps in 4 s later (one-by-one-person-detection.mp4).
    for (let i = 10; i < 14; i++) tr.update([], at(i));
    const next = tr.update([det('person', spot, 0.6)], at(14));
    expect(next).toHaveLength(1);
    expect(next[0]!.trackId).not.toBe(first);
    expect(next[0]!.firstSeen).toBe(at(14));
    // A missed second or two (a head turned, an occlusion) keeps the identity.
    tr.update([], at(15));
    tr.update([], at(16));
    expect(tr.update([det('person', spot, 0.6)], at(17))[0]!.trackId).toBe(next[0]!.trackId);
  });
});
