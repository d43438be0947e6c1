import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelPlugins } from '../../../features/detectors/loader/manifest-validation.js';
import { createInferencePool, type InferencePool } from '../../../features/detectors/model/inference-pool.js';
import { decodeFrames } from './helpers.js';
import { mediaPath } from '../../helpers/media.js';
import { STREET_LABELS } from '../../../features/detectors/plugins/example-street-ssd/index.js';

describe('example-street-ssd (a model plugin wrapping SSD)', () => {
  let pool: InferencePool;
  let frame: Uint8Array;
  beforeAll(async () => {
    [frame] = decodeFrames(mediaPath('vtest.avi'), [10], 512, 512) as [Uint8Array];
    // Default model SSD; the example is loaded lazily by the first frame that asks for it.
    pool = createInferencePool({
      workers: 1,
      backend: 'wasm',
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      plugins: await readModelPlugins({ pluginDirs: [] }, '.'),
    });
    await pool.ready();
  });
  afterAll(() => pool.close());

  it("keeps SSD's street objects and drops the rest, on a real vtest.avi frame", async () => {
    const plain = await pool.infer({ cameraId: 'a', rgb: frame.slice(), width: 512, height: 512 });
    const street = await pool.infer({
      cameraId: 'b',
      rgb: frame.slice(),
      width: 512,
      height: 512,
      model: 'example-street-ssd',
    });
    if (plain.status !== 'done' || street.status !== 'done') throw new Error('frame dropped');
    expect(plain.objects.some((o) => !STREET_LABELS.has(o.label))).toBe(true);
    expect(street.objects).toEqual(plain.objects.filter((o) => STREET_LABELS.has(o.label)));
    expect(street.objects.some((o) => o.label === 'car' && o.box.x1 > 0.8)).toBe(true);
  });
});
