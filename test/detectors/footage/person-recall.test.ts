import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectedObject } from '../../../features/detectors/plugin-api/contract.js';
import { createInferencePool, type InferencePool } from '../../../features/detectors/model/inference-pool.js';
import { mediaPath } from '../../helpers/media.js';
import { FIXTURES, decodeFrames } from '../core/helpers.js';

interface Counts {
  size: [number, number];
  frames: Array<{ t: number; people: Array<[number, number]>; vehicles: Array<[number, number]> }>;
}

/** Greedy one-to-one: an eye-counted centre is found when it lies inside a detection's box. */
function matched(
  points: Array<[number, number]>,
  size: [number, number],
  dets: DetectedObject[],
): { hits: number; unmatchedDets: number } {
  const used = new Set<number>();
  let hits = 0;
  for (const [px, py] of points) {
    const x = px / size[0];
    const y = py / size[1];
    const i = dets.findIndex(
      (d, k) => !used.has(k) && x >= d.box.x1 && x <= d.box.x2 && y >= d.box.y1 && y <= d.box.y2,
    );
    if (i >= 0) {
      used.add(i);
      hits++;
    }
  }
  return { hits, unmatchedDets: dets.length - used.size };
}

describe('per-frame detection against eye-counted vtest.avi frames', () => {
  const counts = JSON.parse(readFileSync(join(FIXTURES, 'vtest-counts.json'), 'utf8')) as Counts;
  let pool: InferencePool;
  const results: Array<{ t: number; dets: DetectedObject[] }> = [];

  beforeAll(async () => {
    pool = createInferencePool({
      workers: 2,
      backend: 'auto',
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
    });
    await pool.ready();
    const frames = decodeFrames(
      mediaPath('vtest.avi'),
      counts.frames.map((f) => f.t),
      512,
      512,
    );
    const out = await Promise.all(
      frames.map((rgb, i) => pool.infer({ cameraId: `f${i}`, rgb, width: 512, height: 512 })),
    );
    out.forEach((r, i) =>
      results.push({ t: counts.frames[i]!.t, dets: r.status === 'done' ? r.objects : [] }),
    );
  });
  afterAll(async () => {
    await pool.close();
  });

  it('finds at least 80% of the people counted by eye (score ≥ 0.3)', () => {
    let total = 0;
    let hits = 0;
    let extra = 0;
    const rows: string[] = [];
    for (const f of counts.frames) {
      const dets = results
        .find((r) => r.t === f.t)!
        .dets.filter((d) => d.label === 'person' && d.score >= 0.3);
      const m = matched(f.people, counts.size, dets);
      total += f.people.length;
      hits += m.hits;
      extra += m.unmatchedDets;
      rows.push(`t=${f.t}s counted ${f.people.length} found ${m.hits} extra ${m.unmatchedDets}`);
    }
    const recall = hits / total;
    console.log(
      `person recall ${hits}/${total} = ${recall.toFixed(2)}; detections matching no counted person: ${extra}\n${rows.join('\n')}`,
    );
    expect(total).toBe(27);
    expect(recall).toBeGreaterThanOrEqual(0.8);
  });

  it('sees the parked van as a vehicle in most counted frames (score ≥ 0.2)', () => {
    let seen = 0;
    for (const f of counts.frames) {
      const dets = results
        .find((r) => r.t === f.t)!
        .dets.filter((d) => ['car', 'truck', 'bus'].includes(d.label));
      if (matched([f.vehicles[0]!], counts.size, dets).hits === 1) seen++;
    }
    expect(seen).toBeGreaterThanOrEqual(4);
  });
});
