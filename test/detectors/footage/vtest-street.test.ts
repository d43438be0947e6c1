import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyzeResult } from '../../../features/detectors/pipeline/analyze-video.js';
import { mediaPath } from '../../helpers/media.js';
import { camera } from '../core/helpers.js';
import { createRig, type Rig } from './setup.js';

// Positions read off the frames (see test/fixtures/detectors/vtest-counts.json): the van at
// x 652-722, y 44-100 px of 768×576; the small car at x 735-768 stays outside this zone.
const VAN_ZONE: Array<[number, number]> = [
  [0.82, 0.05],
  [0.945, 0.05],
  [0.945, 0.21],
  [0.82, 0.21],
];
// The road the pedestrians walk along, left edge to the bend at the right.
const PATH_ZONE: Array<[number, number]> = [
  [0.0, 0.3],
  [0.6, 0.33],
  [0.95, 0.45],
  [0.95, 0.75],
  [0.45, 0.6],
  [0.0, 0.45],
];
const DWELL = 20;

const vanCam = camera({
  id: 'vtest-van',
  samplingIntervalSec: 1,
  detectors: [{ rule: 'illegal_parking', options: { dwellSec: DWELL } }],
  zones: [{ id: 'van-bay', name: '面包车禁停区', polygon: VAN_ZONE, rules: ['illegal_parking'] }],
});

const pathCam = camera({
  id: 'vtest-path',
  samplingIntervalSec: 2,
  detectors: [
    { rule: 'illegal_parking', options: { dwellSec: 10 } },
    { rule: 'street_vending', options: { dwellSec: 10 } },
  ],
  zones: [{ id: 'path', name: '人行道', polygon: PATH_ZONE, rules: ['illegal_parking', 'street_vending'] }],
});

function inZone(x: number, y: number, poly: Array<[number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

describe('vtest.avi through the full pipeline', () => {
  let rig: Rig;
  let van: AnalyzeResult;
  beforeAll(async () => {
    rig = await createRig();
    van = await rig.analyze(mediaPath('vtest.avi'), vanCam);
  }, 300_000);
  afterAll(async () => {
    await rig.close();
  });

  it('raises exactly one illegal_parking event, for the van, after the dwell', () => {
    expect(van.framesSampled).toBe(80);
    const parking = van.events.filter((e) => e.type === 'illegal_parking');
    expect(parking).toHaveLength(1);
    const e = parking[0]!;
    expect(e.zone).toBe('van-bay');
    expect(e.trackIds).toHaveLength(1);
    expect(e.raisedAt).toBeGreaterThanOrEqual(DWELL);
    expect(e.raisedAt).toBeLessThan(DWELL + 10);
    expect(e.end).toBeGreaterThan(70);
    // One finding submitted for it (a refresh needs 60 s between submissions).
    const f = van.findings.filter((x) => x.type === 'illegal_parking');
    expect(f).toHaveLength(1);
    const box = f[0]!.boxes[0]!;
    const cx = (box.x1 + box.x2) / 2;
    expect(cx).toBeGreaterThan(0.85);
    expect(cx).toBeLessThan(0.93);
    expect(['car', 'truck', 'bus']).toContain(box.label);
  });

  it('stores evidence JPEGs with the box drawn (the van box differs from the raw frame)', async () => {
    const f = van.findings[0]!;
    expect(f.evidence.first).toMatch(
      /^\d{4}-\d{2}-\d{2}\/vtest-van_illegal_parking_[0-9a-f]{12}_\d+-latest\.jpg$/,
    );
    const jpg = await readFile(join(rig.evidenceDir, f.evidence.latest!));
    const meta = await sharp(jpg).metadata();
    expect(meta.format).toBe('jpeg');
    expect([meta.width, meta.height]).toEqual([768, 576]);
    // The box outline is drawn in the type colour (#e53935): its left edge is red. (The top
    // edge may sit under a label plate: labels are placed where they do not cover each other.)
    const b = f.boxes[0]!;
    const { data, info } = await sharp(jpg).raw().toBuffer({ resolveWithObject: true });
    const x = Math.round(b.x1 * info.width);
    let red = 0;
    for (let y = Math.round(b.y1 * info.height) + 3; y < Math.round(b.y2 * info.height) - 3; y++) {
      const i = (y * info.width + x) * info.channels;
      if (data[i]! > 180 && data[i + 1]! < 110 && data[i + 2]! < 110) red++;
    }
    expect(red).toBeGreaterThan(10);
  });

  it('the motion gate skipped most samples and the findings are the same with the gate off', async () => {
    const off = await rig.analyze(mediaPath('vtest.avi'), vanCam, { motion: false });
    expect(off.framesInferred).toBe(80);
    expect(van.framesInferred).toBeLessThan(0.4 * 80);
    const sig = (r: AnalyzeResult) => r.events.map((e) => `${e.type}:${e.zone}:${e.raisedAt >= DWELL}`);
    expect(sig(van)).toEqual(sig(off));
    expect(Math.abs(van.events[0]!.raisedAt - off.events[0]!.raisedAt)).toBeLessThanOrEqual(2);
  }, 180_000);

  it('raises no parking and no vending finding on the walking path, where people were detected', async () => {
    const r = await rig.analyze(mediaPath('vtest.avi'), pathCam);
    expect(r.events).toEqual([]);
    // The negative means something: the model saw people inside the zone in many samples.
    const framesWithPeopleInZone = r.frames.filter((f) =>
      f.objects.some(
        (o) =>
          o.label === 'person' && o.score >= 0.35 && inZone((o.box.x1 + o.box.x2) / 2, o.box.y2, PATH_ZONE),
      ),
    ).length;
    expect(framesWithPeopleInZone).toBeGreaterThanOrEqual(15);
  }, 180_000);
});
