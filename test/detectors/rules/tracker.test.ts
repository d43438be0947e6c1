import { describe, expect, it } from 'vitest';
import { createTracker, iou } from '../../../features/detectors/tracker/tracker.js';
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

  it('drops a moving track after maxMissed and a stationary one after maxMissedStationary', () => {
    const tr = createTracker({ maxMissed: 1, maxMissedStationary: 3 });
    tr.update([det('car', CAR), det('person', { x1: 0.1, y1: 0.5, x2: 0.15, y2: 0.7 })], T0);
    tr.update([det('car', CAR)], T0 + S); // person missed once, car now stationary
    expect(tr.tracks()).toHaveLength(2);
    tr.update([], T0 + 2 * S); // person missed twice > 1: gone
    expect(tr.tracks().map((t) => t.label)).toEqual(['car']);
    tr.update([], T0 + 3 * S);
    tr.update([], T0 + 4 * S);
    expect(tr.tracks()).toHaveLength(1);
    tr.update([], T0 + 5 * S);
    expect(tr.tracks()).toHaveLength(0);
  });

  it('carry() keeps tracks without counting a miss', () => {
    const tr = createTracker({ maxMissed: 0, maxMissedStationary: 0 });
    tr.update([det('car', CAR)], T0);
    for (let i = 1; i <= 10; i++) {
      const out = tr.carry(T0 + i * S);
      expect(out).toHaveLength(1);
      expect(out[0]!.missed).toBe(0);
      expect(out[0]!.hits).toBe(1);
    }
    const out = tr.update([det('car', CAR)], T0 + 11 * S);
    expect(out[0]!.hits).toBe(2);
    expect(out[0]!.stationarySince).toBe(T0);
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
    const out = tr.update([det('car', CAR)], T0 + S);
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

  it('smooths the box and the score', () => {
    const tr = createTracker({ smoothing: 0.5 });
    tr.update([det('car', CAR, 0.4)], T0);
    const out = tr.update([det('car', shift(CAR, 0.02), 0.6)], T0 + S);
    expect(out[0]!.box.x1).toBeCloseTo(CAR.x1 + 0.01, 6);
    expect(out[0]!.score).toBeCloseTo(0.5, 6);
    expect(iou(out[0]!.box, CAR)).toBeGreaterThan(0.7);
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
  it('does not hand a person’s track to the next person at the same spot after two missed samples', () => {
    const tr = createTracker();
    const spot: NBox = { x1: 0.5, y1: 0.4, x2: 0.55, y2: 0.6 };
    for (let i = 0; i < 5; i++) tr.update([det('person', spot, 0.6)], T0 + i * S);
    const first = tr.tracks()[0]!.trackId;
    tr.update([], T0 + 5 * S);
    tr.update([], T0 + 6 * S); // the first person has left
    const next = tr.update([det('person', spot, 0.6)], T0 + 7 * S);
    expect(next).toHaveLength(1);
    expect(next[0]!.trackId).not.toBe(first);
    expect(next[0]!.firstSeen).toBe(T0 + 7 * S);
    // One missed sample (a head turned, an occlusion) keeps the identity.
    tr.update([], T0 + 8 * S);
    expect(tr.update([det('person', spot, 0.6)], T0 + 9 * S)[0]!.trackId).toBe(next[0]!.trackId);
  });
});
