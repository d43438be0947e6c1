import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import {
  createGatewayConfigStore,
  type GatewayConfigStore as ConfigStore,
} from '../../app/gateway-config-store.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { cameraYaml, captureLogger, makeConfigDir, smallCity } from './fixtures.js';

async function waitFor(what: string, pred: () => boolean, timeoutMs = 8_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let tmp: Awaited<ReturnType<typeof makeConfigDir>>;
let store: ConfigStore;
let metrics: Registry;
let events: string[];
const camFile = () => join(tmp.dir, 'cameras', 'a.yaml');
const names = () => Object.fromEntries(store.cameras().map((c) => [c.id, c.name]));

beforeEach(async () => {
  tmp = await makeConfigDir({
    cameras: {
      'a.yaml': `cameras:\n${cameraYaml('a1')}${cameraYaml('a2')}`,
      'b.yaml': `cameras:\n${cameraYaml('b1')}`,
    },
  });
  metrics = createMetricsRegistry({ defaultMetrics: false });
  store = createGatewayConfigStore({
    gatewayFile: tmp.gatewayFile,
    logger: captureLogger().logger,
    metrics,
    watch: true,
    debounceMs: 100,
    pollIntervalMs: 400,
  });
  events = [];
  store.on('cameras', (c) => events.push(`cameras:${c.length}`));
  store.on('grids', () => events.push('grids'));
  store.on('error', (e) => events.push(`error:${e.message.split('\n')[0]}`));
  await store.load();
  expect(Object.keys(names()).sort()).toEqual(['a1', 'a2', 'b1']);
});

afterEach(async () => {
  await store.close();
  await store.close();
  await tmp.cleanup();
});

describe('hot reload', () => {
  it('applies a good edit within seconds', async () => {
    await writeFile(
      camFile(),
      `cameras:\n${cameraYaml('a1').replace('测试摄像机a1', '人民路口东')}${cameraYaml('a2')}${cameraYaml('a3')}`,
    );
    await waitFor('the edit', () => names().a1 === '人民路口东' && names().a3 !== undefined);
    expect(events).toContain('cameras:4');
    expect(store.rejected()).toEqual([]);
    const m = await metrics.getSingleMetricAsString('gridwatch_config_reloads_total');
    expect(m).toMatch(/gridwatch_config_reloads_total\{result="ok"\} [1-9]/);
    expect(await metrics.getSingleMetricAsString('gridwatch_config_cameras_accepted')).toMatch(/ 4$/m);
  });

  it('keeps the last good version of an entry an edit broke, and reports why', async () => {
    const broken = `cameras:\n${cameraYaml('a1', '', 500, 23.1)}${cameraYaml('a2').replace('测试摄像机a2', '新名字')}`;
    await writeFile(camFile(), broken);
    await waitFor('the edit', () => names().a2 === '新名字');
    expect(names().a1).toBe('测试摄像机a1');
    const rej = store.rejected();
    expect(rej).toHaveLength(1);
    expect(rej[0]!.cameraId).toBe('a1');
    expect(rej[0]!.errors[0]).toBe(
      `${camFile()}:5:22 cameras[0].location.lon: too big (expected a number <= 136, found number 500)`,
    );
    expect(rej[0]!.errors[1]).toBe('keeping the last good version of a1 (from line 2)');
    expect(await metrics.getSingleMetricAsString('gridwatch_config_cameras_rejected')).toMatch(/ 1$/m);
  });

  it('keeps every camera of a file that no longer parses', async () => {
    await writeFile(camFile(), 'cameras:\n  - id: a1\n    name: [unclosed\n');
    await waitFor('the rejection', () => store.rejected().length > 0);
    expect(Object.keys(names()).sort()).toEqual(['a1', 'a2', 'b1']);
    expect(store.rejected()[0]!.errors.at(-1)).toBe(
      'keeping the last good version of 2 camera(s) from this file',
    );
    expect(await metrics.getSingleMetricAsString('gridwatch_config_reloads_total')).toMatch(
      /result="error"\} [1-9]/,
    );
  });

  it('drops the cameras of a deleted file', async () => {
    await rm(camFile());
    await waitFor('the removal', () => store.cameras().length === 1);
    expect(Object.keys(names())).toEqual(['b1']);
    expect(events).toContain('cameras:1');
  });

  it('picks up an editor-style save (write a temp file, rename over)', async () => {
    const tmpFile = join(tmp.dir, 'cameras', '.b.yaml.swp');
    await writeFile(tmpFile, `cameras:\n${cameraYaml('b1').replace('测试摄像机b1', '改名')}`);
    await rename(tmpFile, join(tmp.dir, 'cameras', 'b.yaml'));
    await waitFor('the rename', () => names().b1 === '改名');
  });

  it('reloads the grid file, re-checks cameras against it, and keeps the old grid when the new one is broken', async () => {
    await writeFile(camFile(), `cameras:\n${cameraYaml('a1', '    gridCode: "441202001002"\n')}`);
    await waitFor('the rejection', () => store.rejected().length === 1);
    expect(store.rejected()[0]!.errors[0]).toContain('grid code 441202001002 is not in the grid file');
    // Until then a1 runs as it was before the edit.
    expect(store.cameras().find((c) => c.id === 'a1')?.gridCode).toBe('441202001001002');
    const city = smallCity();
    city.features.push({
      ...city.features[4]!,
      properties: { ...city.features[4]!.properties, code: '441202001002', name: '新社区' },
      geometry: { type: 'Polygon', coordinates: [] },
    });
    // A division without a polygon is allowed (known only as a parent).
    (city.features.at(-1) as { geometry: unknown }).geometry = null;
    await writeFile(join(tmp.dir, 'grids', 'city.geojson'), JSON.stringify(city));
    await waitFor(
      'the grid reload',
      () => store.cameras().find((c) => c.id === 'a1')?.gridCode === '441202001002',
    );
    expect(store.grids().get('441202001002')?.name).toBe('新社区');
    expect(store.rejected()).toEqual([]);
    expect(events).toContain('grids');

    await writeFile(join(tmp.dir, 'grids', 'city.geojson'), '{"type": "FeatureCollection", "features": [');
    await waitFor('the grid error', () => events.some((e) => e.startsWith('error:')));
    expect(store.grids().get('441202001002')?.name).toBe('新社区');
    expect(
      store.issues().some((i) => i.source.endsWith('city.geojson') && i.expected === 'GeoJSON (JSON)'),
    ).toBe(true);
    expect(await readFile(camFile(), 'utf8')).toContain('a1');
  });

  it('applies edits through the periodic scan alone when fs.watch is off', async () => {
    const polled = createGatewayConfigStore({
      gatewayFile: tmp.gatewayFile,
      logger: captureLogger().logger,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      watch: true,
      fsWatch: false,
      pollIntervalMs: 300,
      debounceMs: 50,
    });
    try {
      await polled.load();
      await writeFile(join(tmp.dir, 'cameras', 'c.yaml'), `cameras:\n${cameraYaml('c1')}`);
      await waitFor('the periodic scan', () => polled.cameras().some((c) => c.id === 'c1'));
    } finally {
      await polled.close();
    }
  });

  it('refuses use before load and after close', async () => {
    const fresh = createGatewayConfigStore({
      gatewayFile: tmp.gatewayFile,
      logger: captureLogger().logger,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      watch: false,
    });
    expect(() => fresh.grids()).toThrow(expect.objectContaining({ code: 'GW_CONFIG_NOT_LOADED' }));
    await fresh.close();
    await expect(fresh.load()).rejects.toMatchObject({ code: 'GW_CLOSED' });
    await expect(fresh.reload()).rejects.toMatchObject({ code: 'GW_CLOSED' });
  });

  it('fills gridCode from the location and converts GCJ-02 to WGS84', async () => {
    await writeFile(
      camFile(),
      `cameras:\n${cameraYaml('a1').replace('location: { lon: 112.15, lat: 23.1 }', 'location: { lon: 112.055, lat: 23.097, crs: GCJ02 }')}`,
    );
    await waitFor('the edit', () => store.cameras().find((c) => c.id === 'a1')?.location.crs === 'GCJ02');
    const a1 = store.cameras().find((c) => c.id === 'a1')!;
    // GCJ-02 is offset from WGS84 by a few hundred metres in Guangdong.
    expect(a1.wgs84.lon).toBeCloseTo(112.0498, 3);
    expect(a1.wgs84.lat).toBeCloseTo(23.0996, 3);
    expect(a1.gridCode).toBe('441202001001003');
    expect(a1.line).toBe(2);
    expect(a1.baseDir).toBe(join(tmp.dir, 'cameras'));
  });
});
