/**
 * Detector hang for `npm run test:faults` (issue 14, item 10): a model that never returns on a
 * frame. The real inference pool (worker threads, TF.js wasm backend) must terminate that worker
 * after its job timeout, fail that frame with GW_INFERENCE_HUNG, show the code in its health,
 * count it in a metric, restart the worker, and go on inferring the next frames. A close()
 * while a job is in flight drops that frame instead of failing it (no error on shutdown).
 */
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes, GridwatchError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { DetectorsConfigSchema } from '../../features/detectors/config/detectors-config.js';
import { createInferencePool, type InferencePool } from '../../features/detectors/model/inference-pool.js';
import { waitFor } from '../helpers/wait-for.js';

const ENTRY = new URL('./fixtures/hang-model.ts', import.meta.url);
const W = 32;
const frame = (first: number) => {
  const rgb = new Uint8Array(W * W * 3);
  rgb[0] = first;
  return { rgb, width: W, height: W };
};

let pool: InferencePool;
let logText = '';
const metrics = new Registry();

beforeAll(async () => {
  pool = createInferencePool({
    workers: 1,
    backend: 'wasm',
    logger: createLogger({
      level: 'info',
      pretty: false,
      destination: new Writable({
        write(chunk: Buffer, _enc, cb) {
          logText += chunk.toString();
          cb();
        },
      }),
    }),
    metrics,
    model: DetectorsConfigSchema.parse({ model: { plugin: 'hang-model' } }).model,
    plugins: [
      {
        name: 'hang-model',
        version: '0.0.0',
        entryUrl: ENTRY.href,
        dir: pathToFileURL('.').pathname,
        license: null,
      },
    ],
    jobTimeoutMs: 1_500,
  });
  await pool.ready();
}, 60_000);
afterAll(() => pool?.close());

describe('detector hang', () => {
  it('a hung worker is terminated after the job timeout, the frame fails with GW_INFERENCE_HUNG, the next frames are inferred', async () => {
    const ok = await pool.infer({ cameraId: 'a', ...frame(0) });
    expect(ok.status).toBe('done');
    const hung = await pool.infer({ cameraId: 'a', ...frame(255) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(hung).toBeInstanceOf(GridwatchError);
    expect((hung as GridwatchError).code).toBe(Codes.GW_INFERENCE_HUNG);
    const h = pool.health();
    expect(h.lastError).toMatch(new RegExp(`^${Codes.GW_INFERENCE_HUNG}: `));
    expect(
      (await metrics.getSingleMetric('gridwatch_detector_worker_hung_total')!.get()).values[0]!.value,
    ).toBe(1);
    // Restarted: frames are inferred again (the same camera and another one).
    await waitFor('worker back', () => pool.health().alive === 1, 30_000);
    for (const cam of ['a', 'b'])
      expect((await pool.infer({ cameraId: cam, ...frame(0) })).status).toBe('done');
    expect(pool.health().restarts).toBe(1);
    expect(logText).toContain('inference worker hung; terminating and restarting it');
    console.log(
      `\ndetector hang: 1 hung frame failed with ${Codes.GW_INFERENCE_HUNG}, worker restarts ${pool.health().restarts}, frames inferred after: 2\n`,
    );
  }, 60_000);

  it('close() with a job in flight drops that frame: no failure, no error-level line', async () => {
    const inFlight = pool.infer({ cameraId: 'c', ...frame(255) });
    await new Promise((r) => setTimeout(r, 100));
    await pool.close();
    expect(await inFlight).toEqual({ status: 'dropped' });
    const errors = logText
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
  }, 30_000);
});
