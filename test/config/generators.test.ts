import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayConfigStore } from '../../app/gateway-config-store.js';
import { CameraFileSchema } from '../../core/contracts/camera-schema.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { generateDemoCity } from '../../scripts/gen-demo-grid.js';
import { REPO_ROOT } from '../helpers/media.js';
import { captureLogger, makeConfigDir } from './fixtures.js';
import { parse } from 'yaml';

const run = promisify(execFile);
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-gen-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('generators', () => {
  it('gen-demo-grid writes the same file as the library for the seed, one feature per line', async () => {
    const out = join(dir, 'city.geojson');
    const r = await run(TSX, [join(REPO_ROOT, 'scripts', 'gen-demo-grid.ts'), '--out', out, '--seed', '3']);
    const city = generateDemoCity(3);
    expect(r.stdout).toBe(`wrote ${out}: ${city.features.length} features, 8840 grids\n`);
    const text = await readFile(out, 'utf8');
    expect(JSON.parse(text)).toEqual(city);
    expect(text.split('\n')).toHaveLength(city.features.length + 3);
  });

  it('gen-cameras places N cameras inside their grids, 200 per file, and the store accepts them all', async () => {
    const grid = join(dir, 'city.geojson');
    const camDir = join(dir, 'cams');
    const r = await run(TSX, [
      join(REPO_ROOT, 'scripts', 'gen-cameras.ts'),
      '450',
      '--out',
      camDir,
      '--grids',
      grid,
      '--rtsp-base',
      'rtsp://127.0.0.1:8554/cam{n}',
    ]);
    expect(r.stdout).toBe(`wrote 450 cameras in 3 file(s) to ${camDir}\n`);
    const files = (await readdir(camDir)).sort();
    expect(files).toEqual(['cameras-001.yaml', 'cameras-002.yaml', 'cameras-003.yaml']);
    const counts = await Promise.all(
      files.map(
        async (f) => CameraFileSchema.parse(parse(await readFile(join(camDir, f), 'utf8'))).cameras.length,
      ),
    );
    expect(counts).toEqual([200, 200, 50]);

    const cfg = await makeConfigDir({ grid: await readFile(grid, 'utf8') });
    await rm(join(cfg.dir, 'cameras'), { recursive: true });
    await run('cp', ['-r', camDir, join(cfg.dir, 'cameras')]);
    const store = createGatewayConfigStore({
      gatewayFile: cfg.gatewayFile,
      logger: captureLogger().logger,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      watch: false,
    });
    try {
      await store.load();
      expect(store.rejected()).toEqual([]);
      const cams = store.cameras();
      expect(cams).toHaveLength(450);
      expect(cams[449]!.source).toEqual({
        kind: 'rtsp',
        url: 'rtsp://127.0.0.1:8554/cam450',
        transport: 'tcp',
      });
      // Each camera stands inside the grid it names.
      const misplaced = cams.filter(
        (c) => store.grids().lookup(c.wgs84.lon, c.wgs84.lat)?.code !== c.gridCode,
      );
      expect(misplaced).toEqual([]);
    } finally {
      await store.close();
      await cfg.cleanup();
    }
  });
});
