/**
 * Grid map benchmark (npm run bench:map): the 一张图 view of the demo city (8,840 grids in
 * config/grids/demo-city.geojson, 8 counties) in Debian's chromium (playwright-core), against
 * one gateway built by buildGateway (every role, embedded redis). Open alerts are made by the
 * real dispatcher from findings; cameras are disabled entries of the real camera directory
 * (no stream opened; states only change a marker's colour) placed in grids.
 * Measures, per fresh page: the shapes request (server side, cold and cached), the time from
 * opening the view to every grid, alert marker and camera drawn, and the redraw after zooming
 * in two levels (shapes refetched for the new zoom).
 *   npm run bench:map [-- --runs 5 --alerts 300 --cameras 400]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { stringify } from 'yaml';
import type { Finding } from '../core/contracts/finding.js';
import { loadGridFile } from '../core/grid/grid-index.js';
import { createLogger } from '../core/logger.js';
import { which } from '../core/util/which.js';
import { buildGateway } from '../app/build-gateway.js';
import { hashPassword } from '../features/wall/password-hash.js';
import { idleDetectors } from '../test/helpers/idle-detectors.js';
import { recordResults } from './lib/record.js';

const GRID_FILE = new URL('../config/grids/demo-city.geojson', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    alerts: { type: 'string', default: '300' },
    cameras: { type: 'string', default: '400' },
  },
});
const RUNS = Number(args.runs);
const N_ALERTS = Number(args.alerts);
const N_CAMERAS = Number(args.cameras);

interface Doc {
  getElementById(id: string): { dataset: Record<string, string | undefined> } | null;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fmt = (xs: number[]) => `${Math.round(median(xs))} ms (runs: ${xs.map(Math.round).join(', ')})`;

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'gw-bench-map-'));
  const cleanup: Array<() => Promise<void>> = [];
  try {
    const { index: grids } = await loadGridFile(GRID_FILE);

    // Cameras at the centre of every (8840 / N)-th grid.
    const leaves: { code: string; lon: number; lat: number }[] = [];
    const walk = (code: string) => {
      const g = grids.get(code)!;
      if (g.level === 'grid') {
        const ring = grids.shape!(code)![0]![0]!;
        const xs = ring.map((p) => p[0]);
        const ys = ring.map((p) => p[1]);
        leaves.push({
          code,
          lon: (Math.min(...xs) + Math.max(...xs)) / 2,
          lat: (Math.min(...ys) + Math.max(...ys)) / 2,
        });
      }
      for (const c of grids.children(code)) walk(c.code);
    };
    for (const r of grids.roots()) walk(r.code);
    const step = Math.max(1, Math.floor(leaves.length / N_CAMERAS));
    const cameras = leaves
      .filter((_, i) => i % step === 0)
      .slice(0, N_CAMERAS)
      .map((g, i) => ({
        id: `m-${i}`,
        name: `摄像头${i}`,
        gridCode: g.code,
        // Disabled: listed and drawn like any camera (states only change its colour), but no
        // stream is opened, so the benchmark spends nothing on ingest.
        enabled: false,
        source: { kind: 'rtsp', url: `rtsp://127.0.0.1:9/m${i}` },
        location: { lon: g.lon, lat: g.lat },
      }));

    // One gateway as production builds it (app/build-gateway.ts), every role, its embedded
    // Redis; cameras, grids and the user go in through gateway.yaml. The detect role is the idle
    // one (no model: alerts are made from findings submitted to the dispatcher's sink), and the
    // observe seam tells the benchmark when the alerts exist.
    const password = 'bench-pass';
    await mkdir(join(dir, 'cameras'));
    await writeFile(join(dir, 'cameras', 'bench.yaml'), stringify({ cameras }));
    await writeFile(
      join(dir, 'gateway.yaml'),
      stringify({
        http: { host: '127.0.0.1', port: 0 },
        dataDir: './var',
        timezone: 'Asia/Shanghai',
        cameras: { dirs: ['./cameras'] },
        grids: { file: GRID_FILE },
        auth: { sessionTtlMin: 60, loginAttempts: 50, loginWindowSec: 300 },
        users: [
          {
            username: 'city',
            displayName: '市级席位',
            role: 'admin',
            scope: '4412',
            passwordHash: await hashPassword(password),
          },
        ],
        dispatcher: { dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone', 'track'] } } },
      }),
    );
    const seen = new Set<string>();
    let onAlert: () => void = () => undefined;
    const gw = await buildGateway({
      config: join(dir, 'gateway.yaml'),
      logger: createLogger({ level: 'warn', pretty: false }),
      seams: {
        detectors: idleDetectors(),
        observe: {
          alertChanged(a) {
            seen.add(a.id);
            onAlert();
          },
        },
      },
    });
    cleanup.push(() => gw.close());
    const url = gw.url!;

    // Open alerts through the real path: findings into the dispatcher's sink.
    const now = Date.now();
    const made = new Promise<void>((resolve) => {
      onAlert = () => {
        if (seen.size >= N_ALERTS) resolve();
      };
    });
    for (let i = 0; i < N_ALERTS; i++) {
      const cam = cameras[i % cameras.length]!;
      const f: Finding = {
        id: `bench-map-${i}`,
        cameraId: cam.id,
        type: 'illegal_parking',
        zoneId: null,
        score: 0.7,
        trackIds: [`t${i}`],
        boxes: [],
        firstSeen: now - 60_000,
        lastSeen: now,
        evidence: { first: null, latest: null },
        detector: { plugin: 'bench', version: '1.0.0' },
      };
      await gw.dispatcher.sink.submit(f);
    }
    await made;

    const login = await fetch(`${url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'city', password }),
    });
    const token = ((await login.json()) as { token: string }).token;
    const shapes = async (zoom: number) => {
      const t0 = performance.now();
      const res = await fetch(`${url}/api/v1/map/grids?zoom=${zoom}&level=grid`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const text = await res.text();
      return {
        ms: performance.now() - t0,
        bytes: text.length,
        n: (JSON.parse(text) as { grids: unknown[] }).grids.length,
      };
    };
    const cold = await shapes(11);
    const warm = await shapes(11);

    const exe = which('chromium') ?? '/usr/bin/chromium';
    const browser = await chromium.launch({
      executablePath: exe,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
    cleanup.push(() => browser.close());
    const open: number[] = [];
    const fetchMs: number[] = [];
    const drawMs: number[] = [];
    const zoomDraw: number[] = [];
    const zoomTotal: number[] = [];
    let counts = '';
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, locale: 'zh-CN' });
      const page = await context.newPage();
      await page.goto(url);
      await page.locator('#login-username').fill('city');
      await page.locator('#login-password').fill(password);
      await page.locator('#login-form button[type=submit]').click();
      await page.locator('#conn.on').waitFor();
      const t0 = Date.now();
      await page.locator('#nav a[data-view="map"]').click();
      await page.locator('#map-canvas[data-ready="true"]').waitFor({ timeout: 120_000 });
      open.push(Date.now() - t0);
      const ds = await page.evaluate(() => ({
        ...(globalThis as unknown as { document: Doc }).document.getElementById('map-canvas')!.dataset,
      }));
      fetchMs.push(Number(ds.fetchMs));
      drawMs.push(Number(ds.drawMs));
      counts = `${ds.grids} grids, ${ds.counties} county outlines, ${ds.alerts} alert markers, ${ds.cameras} cameras at zoom ${ds.loadedZoom}`;
      const before = ds.loadedZoom;
      const t1 = Date.now();
      // Zoom in until the view is two levels from the zoom its shapes were built for.
      const zoomOf = async () =>
        Number(
          await page.evaluate(
            () =>
              (globalThis as unknown as { document: Doc }).document.getElementById('map-canvas')!.dataset
                .zoom ?? 'NaN',
          ),
        );
      while (Math.abs((await zoomOf()) - Number(before)) < 2) {
        const z = await zoomOf();
        await page.locator('.leaflet-control-zoom-in').click();
        await page.waitForFunction(
          (zz) =>
            (globalThis as unknown as { document: Doc }).document.getElementById('map-canvas')!.dataset
              .zoom !== String(zz),
          z,
        );
      }
      await page.waitForFunction(
        (b) =>
          (globalThis as unknown as { document: Doc }).document.getElementById('map-canvas')!.dataset
            .loadedZoom !== b,
        before,
        { timeout: 60_000 },
      );
      zoomTotal.push(Date.now() - t1);
      zoomDraw.push(
        Number(
          await page.evaluate(
            () =>
              (globalThis as unknown as { document: Doc }).document.getElementById('map-canvas')!.dataset
                .drawMs,
          ),
        ),
      );
      await context.close();
    }
    const load1 = loadavg()[0]!;
    const md = `
Command: \`npm run bench:map\` (${RUNS} runs, each a fresh browser context; one gateway built by \`buildGateway\`; ${N_ALERTS} open alerts made by the real dispatcher, ${N_CAMERAS} cameras, disabled so no stream is opened). Debian chromium (headless, \`--disable-gpu\`, software canvas), viewport 1600×900, Leaflet 1.9.4 with one canvas renderer. City-wide admin (scope 4412): ${counts}. Load average (1 min) ${load0.toFixed(1)} at start, ${load1.toFixed(1)} at end, on a shared 2-core machine: absolute times scale with it.

| Measure | Value |
| --- | --- |
| \`GET /map/grids?zoom=11&level=grid\`, first request (tree walk + simplify + JSON) | ${Math.round(cold.ms)} ms, ${(cold.bytes / 1e6).toFixed(2)} MB, ${cold.n} grids |
| same, cached for this grid index | ${Math.round(warm.ms)} ms |
| Open the map view → all grids, markers and cameras drawn (\`data-ready\`), median | ${fmt(open)} |
| of which: shapes fetch + JSON parse (grids and counties) | ${fmt(fetchMs)} |
| of which: building ${cold.n} polygons and the first canvas paint | ${fmt(drawMs)} |
| Zoom in to two levels from the shapes' zoom → shapes refetched and redrawn (from the first click) | ${fmt(zoomTotal)} (draw ${fmt(zoomDraw)}) |

Times are measured in the page (\`performance.now()\`, after two animation frames so the canvas paint is included) and by the driver (click to \`data-ready\`, includes the alerts and cameras requests). The rest of "open the map view" is the open-alerts and cameras requests and placing the alert markers (DOM elements); SVG rendering (Leaflet's default) was not measured.
`;
    recordResults('map', 'Grid map (一张图): 8,840 grids in chromium (bench/map.ts)', md);
    process.stdout.write(md);
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:map failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
