import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaPath } from '../../helpers/media.js';
import { camera } from '../core/helpers.js';
import { createRig, type Rig } from './setup.js';

const VEHICLES = ['car', 'truck', 'bus', 'motorcycle'];
const WHOLE: Array<[number, number]> = [
  [0.01, 0.01],
  [0.99, 0.01],
  [0.99, 0.99],
  [0.01, 0.99],
];

const cam = (id: string) =>
  camera({
    id,
    samplingIntervalSec: 1,
    detectors: [{ rule: 'illegal_parking', options: { dwellSec: 10 } }],
    zones: [{ id: 'lot', name: '全画面禁停', polygon: WHOLE, rules: ['illegal_parking'] }],
  });

describe('vehicles that pass and leave: no parking finding', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await createRig();
  }, 300_000);
  afterAll(async () => {
    await rig.close();
  });

  it('highway-traffic.avi: vehicles detected and tracked over the lanes, none parks', async () => {
    const r = await rig.analyze(mediaPath('highway-traffic.avi'), cam('highway'));
    expect(r.events).toEqual([]);
    // The negative means something: vehicles were seen in most samples.
    const withVehicles = r.frames.filter((f) =>
      f.objects.some((o) => VEHICLES.includes(o.label) && o.score >= 0.3),
    ).length;
    console.log(
      `highway: ${withVehicles}/${r.frames.length} samples with a vehicle ≥ 0.3; inferred ${r.framesInferred}`,
    );
    expect(withVehicles).toBeGreaterThanOrEqual(Math.floor(r.frames.length / 2));
  }, 180_000);

  it('car-detection.mp4 (top-down lot): no finding, and why that proves little', async () => {
    const r = await rig.analyze(mediaPath('car-detection.mp4'), cam('lot'));
    expect(r.events).toEqual([]);
    const labels = new Map<string, number>();
    for (const f of r.frames)
      for (const o of f.objects) if (o.score >= 0.3) labels.set(o.label, (labels.get(o.label) ?? 0) + 1);
    const vehicleHits = VEHICLES.reduce((s, l) => s + (labels.get(l) ?? 0), 0);
    console.log(`car-detection labels ≥ 0.3: ${JSON.stringify(Object.fromEntries(labels))}`);
    // Seen from above, the model does not call these cars vehicles (mostly 'cell phone', per the
    // media README). So "no parking finding" here shows only that non-vehicles never make one;
    // the meaningful vehicle negative is highway-traffic.avi above. The test pins that fact, so
    // a better model that sees them as vehicles turns this into a real negative (and fails here
    // as a reminder to tighten it).
    expect(vehicleHits).toBeLessThan(r.frames.length / 3);
    expect([...labels.keys()].some((l) => !VEHICLES.includes(l))).toBe(true);
  }, 180_000);
});
