import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createInferencePool,
  type InferencePool,
  type InferenceResult,
} from '../../../features/detectors/model/inference-pool.js';
import { mediaPath } from '../../helpers/media.js';
import { decodeFrames } from './helpers.js';

describe('inference pool (CenterNet on real vtest.avi frames, wasm workers)', () => {
  let pool: InferencePool;
  const metrics = new Registry();
  let frames: Uint8Array[];

  beforeAll(async () => {
    frames = decodeFrames(mediaPath('vtest.avi'), [10, 11, 12, 13], 512, 512);
    pool = createInferencePool({ workers: 2, backend: 'auto', logger: pino({ level: 'silent' }), metrics });
    await pool.ready();
  });
  afterAll(async () => {
    await pool.close();
    await pool.close();
  });

  it('reports the backend it fell back to and why', () => {
    const h = pool.health();
    expect(h.backend).toBe('wasm');
    // tfjs-node cannot install here; the reason is kept, not swallowed.
    expect(h.fallbacks.join(' ')).toMatch(/tensorflow: .*tfjs-node/);
    expect(h.alive).toBe(2);
  });

  it('finds the people and the parked van in a street frame, with normalised boxes', async () => {
    const r = await pool.infer({ cameraId: 'v', rgb: frames[0]!.slice(), width: 512, height: 512 });
    expect(r.status).toBe('done');
    if (r.status !== 'done') return;
    const people = r.objects.filter((o) => o.label === 'person' && o.score >= 0.3);
    expect(people.length).toBeGreaterThanOrEqual(5);
    // The van (top right, x 0.85-0.94 of the image) as a vehicle.
    const van = r.objects.find(
      (o) =>
        ['truck', 'car', 'bus'].includes(o.label) && o.box.x1 > 0.8 && o.box.x2 < 0.96 && o.box.y2 < 0.25,
    );
    expect(van).toBeDefined();
    for (const o of r.objects) {
      for (const v of [o.box.x1, o.box.y1, o.box.x2, o.box.y2]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(o.box.x2).toBeGreaterThan(o.box.x1);
    }
    expect(await metrics.getSingleMetricAsString('gridwatch_detector_backend_info')).toMatch(
      /backend="wasm"} 1/,
    );
  });

  it('transfers the pixels to the worker instead of copying them', async () => {
    const rgb = frames[1]!.slice();
    const p = pool.infer({ cameraId: 't', rgb, width: 512, height: 512 });
    expect(rgb.byteLength).toBe(0);
    expect((await p).status).toBe('done');
  });

  it('keeps only the newest waiting frame of a camera that is behind (drop-oldest)', async () => {
    const results: Array<Promise<InferenceResult>> = [];
    // Two workers: frames of camera A go one at a time; B and C keep the other worker busy.
    for (let i = 0; i < 4; i++)
      results.push(pool.infer({ cameraId: 'A', rgb: frames[i]!.slice(), width: 512, height: 512 }));
    const other = [pool.infer({ cameraId: 'B', rgb: frames[0]!.slice(), width: 512, height: 512 })];
    const st = (await Promise.all(results)).map((r) => r.status);
    await Promise.all(other);
    // The first was dispatched at once; 2 and 3 were replaced while waiting; the newest ran.
    expect(st).toEqual(['done', 'dropped', 'dropped', 'done']);
    expect(pool.health().dropped).toBeGreaterThanOrEqual(2);
    expect(await metrics.getSingleMetricAsString('gridwatch_detector_frames_dropped_total')).toMatch(
      / [2-9]\d*$/m,
    );
  });

  it('restarts a worker that dies and keeps serving', async () => {
    await pool.restartWorker(0);
    expect(pool.health().alive).toBe(1);
    const r = await pool.infer({ cameraId: 'after', rgb: frames[2]!.slice(), width: 512, height: 512 });
    expect(r.status).toBe('done');
    for (let i = 0; i < 100 && pool.health().alive < 2; i++) await new Promise((res) => setTimeout(res, 100));
    expect(pool.health().alive).toBe(2);
    expect(pool.health().restarts).toBe(1);
  });

  it('rejects a frame whose size does not match its pixels, naming the camera', async () => {
    await expect(
      pool.infer({ cameraId: 'cam-9', rgb: new Uint8Array(10), width: 512, height: 512 }),
    ).rejects.toThrow(/cam-9: rgb has 10 bytes, expected 512×512×3/);
  });
});
