/**
 * Grid index benchmark: generate the demo city (肇庆市, 8,840 grids), load it the way the
 * gateway does (read, JSON.parse, validate every feature, build the Flatbush index), then
 * time lookups of random points in the city's bounding box, against a brute-force scan in
 * the same run. `npm run bench:grid`
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGateway } from '../app/build-gateway.js';
import { startEmbeddedRedis } from '../core/redis/embedded-redis.js';
import { polygonContains, type Pt } from '../core/geo/geometry.js';
import { createLogger } from '../core/logger.js';
import { cameraFileYaml, generateCameraFiles } from '../scripts/gen-cameras.js';
import { loadGridFile } from '../core/grid/grid-index.js';
import { DEMO_CITY, generateDemoCity } from '../scripts/gen-demo-grid.js';
import { recordResults } from './lib/record.js';
import { mulberry32 } from '../core/util/seeded-random.js';

async function main(): Promise<void> {
  // The machine is shared: record how busy it was, so absolute figures are read with care.
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-grid-'));
  try {
    const t0 = performance.now();
    const city = generateDemoCity(1);
    const genMs = performance.now() - t0;
    const file = join(dir, 'demo-city.geojson');
    writeFileSync(file, JSON.stringify(city));
    const sizeMb = statSync(file).size / 2 ** 20;

    const loads: number[] = [];
    let loaded = await loadGridFile(file);
    for (let i = 0; i < 3; i++) {
      const s = performance.now();
      loaded = await loadGridFile(file);
      loads.push(performance.now() - s);
    }
    if (loaded.issues.length)
      throw new Error(`demo city has ${loaded.issues.length} issues: ${loaded.issues[0]?.message}`);
    const idx = loaded.index;

    const [x0, y0, x1, y1] = DEMO_CITY.bbox;
    const rnd = mulberry32(42);
    const N = 200_000;
    const pts = new Float64Array(N * 2);
    for (let i = 0; i < N; i++) {
      pts[2 * i] = x0 + rnd() * (x1 - x0);
      pts[2 * i + 1] = y0 + rnd() * (y1 - y0);
    }
    // Warm-up so the JIT has compiled the hot path before timing.
    for (let i = 0; i < 20_000; i++) idx.lookup(pts[2 * i]!, pts[2 * i + 1]!);
    let hits = 0;
    let gridHits = 0;
    const s = performance.now();
    for (let i = 0; i < N; i++) {
      const g = idx.lookup(pts[2 * i]!, pts[2 * i + 1]!);
      if (g) {
        hits++;
        if (g.level === 'grid') gridHits++;
      }
    }
    const lookupMs = performance.now() - s;

    // Points in a box 20% wider and taller than the city: the share outside must come back null.
    const wx = (x1 - x0) * 0.1;
    const wy = (y1 - y0) * 0.1;
    let nulls = 0;
    const M = 100_000;
    for (let i = 0; i < M; i++) {
      if (!idx.lookup(x0 - wx + rnd() * (x1 - x0 + 2 * wx), y0 - wy + rnd() * (y1 - y0 + 2 * wy))) nulls++;
    }
    const expectedNull = 1 - 1 / 1.44;

    // The whole config load the gateway does at start: gateway.yaml, the grid file, 2,000 cameras.
    mkdirSync(join(dir, 'cameras'));
    const camFiles = generateCameraFiles(2_000, city as never, {
      rtspBase: 'rtsp://127.0.0.1:8554/cam{n}',
      seed: 1,
    });
    camFiles.forEach((f, i) =>
      writeFileSync(
        join(dir, 'cameras', `cameras-${String(i + 1).padStart(3, '0')}.yaml`),
        cameraFileYaml(f),
      ),
    );
    writeFileSync(
      join(dir, 'gateway.yaml'),
      'dataDir: ./var\ncameras: { dirs: [./cameras] }\ngrids: { file: ./demo-city.geojson }\n',
    );
    // As production starts a dispatch process (app/build-gateway.ts), joining a running Redis.
    const redis = await startEmbeddedRedis({ dir: join(dir, 'redis') });
    const c0 = performance.now();
    const gw = await buildGateway({
      config: join(dir, 'gateway.yaml'),
      roles: ['dispatch'],
      redisUrl: redis.url,
      schedulers: false,
      logger: createLogger({ level: 'warn', pretty: false }),
    });
    const configMs = performance.now() - c0;
    const loadedCams = gw.config.cameras().length;
    const rejectedCams = gw.config.rejected().length;
    await gw.close();
    await redis.close();

    // Brute force over every grid polygon, the baseline the index is compared with.
    const grids = city.features
      .filter((f) => f.properties.level === 'grid')
      .map(
        (f) =>
          (f.geometry.type === 'Polygon'
            ? [f.geometry.coordinates]
            : f.geometry.coordinates) as unknown as Pt[][][],
      );
    const B = 2_000;
    const b0 = performance.now();
    let agree = 0;
    for (let i = 0; i < B; i++) {
      const x = pts[2 * i]!;
      const y = pts[2 * i + 1]!;
      const any = grids.some((parts) => parts.some((rings) => polygonContains(x, y, rings)));
      if (any === (idx.lookup(x, y)?.level === 'grid')) agree++;
    }
    const bruteMs = performance.now() - b0;

    const perSec = N / (lookupMs / 1000);
    const brutePerSec = B / (bruteMs / 1000);
    const med = [...loads].sort((a, b) => a - b)[1]!;
    const md = `
Demo city: ${DEMO_CITY.name} (${DEMO_CITY.code}), seed 1: ${city.features.length.toLocaleString('en')} features, ${grids.length.toLocaleString('en')} grids, ${sizeMb.toFixed(1)} MB GeoJSON (generated in ${genMs.toFixed(0)} ms).

| Measure | Value |
|---|---|
| Load (read + JSON.parse + validate + index), median of 3 | ${med.toFixed(0)} ms (runs: ${loads.map((l) => l.toFixed(0)).join(', ')} ms) |
| Lookups, ${N.toLocaleString('en')} random points in the city bbox | ${(perSec / 1000).toFixed(0)}k lookups/s (${((lookupMs * 1000) / N).toFixed(2)} µs each) |
| Hit rate (any level / grid level) | ${((100 * hits) / N).toFixed(2)} % / ${((100 * gridHits) / N).toFixed(2)} % |
| Brute-force scan of all grid polygons (${B.toLocaleString('en')} points) | ${brutePerSec.toFixed(0)} lookups/s |
| Index speed-up over brute force (same run) | ${(perSec / brutePerSec).toFixed(0)}× |
| Index and brute force agree | ${agree} / ${B} |
| Points in a box 20 % larger than the city: null (outside) | ${((100 * nulls) / M).toFixed(2)} % (area ratio predicts ${(100 * expectedNull).toFixed(2)} %) |
| Gateway start-up (\`buildGateway\`, role dispatch, joining a running Redis): gateway.yaml + grid file + 2,000 cameras in ${camFiles.length} files | ${configMs.toFixed(0)} ms (${loadedCams} accepted, ${rejectedCams} rejected) |

Command: \`npm run bench:grid\`. Load average (1 min) ${loadBefore.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end, on ${cpus().length} cores shared with seven other helpers' jobs: absolute
times scale with it; the speed-up and the agreement/null checks do not depend on it.

The demo city's grids tile its bounding box, so every point inside it hits a grid; real data with
gaps returns null there (never a guess).
`;
    recordResults('grid', 'Grid index (bench/grid-lookup.ts)', md);
    process.stdout.write(md);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
