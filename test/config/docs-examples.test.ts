import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGatewayConfigStore } from '../../app/gateway-config-store.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { DOC_FILE, refreshDocTables } from '../../scripts/export-schema.js';
import { importCamerasCsv } from '../../scripts/import-cameras.js';
import { captureLogger, makeConfigDir } from './fixtures.js';

const doc = await readFile(DOC_FILE, 'utf8');

/** The fenced block right after `<!-- example:NAME -->`. */
function example(name: string): string {
  const m = new RegExp(
    `<!-- example:${name} -->\\n+(?:<!-- prettier-ignore -->\\n)?\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``,
  ).exec(doc);
  if (!m) throw new Error(`docs/configuration.md has no example:${name}`);
  return `${m[1]}\n`;
}

async function loadExamples(cameraFiles: Record<string, string>) {
  const tmp = await makeConfigDir({
    gateway: example('gateway'),
    grid: example('grid'),
    cameras: cameraFiles,
  });
  await mkdir(join(tmp.dir, 'var'), { recursive: true });
  const store = createGatewayConfigStore({
    gatewayFile: tmp.gatewayFile,
    logger: captureLogger().logger,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    watch: false,
  });
  await store.load();
  return { store, tmp };
}

describe('docs/configuration.md', () => {
  it('field tables match the schemas (run `npm run schema` after changing a schema)', () => {
    expect(doc).toContain('| `cameras[].zones[].polygon` |');
    expect(refreshDocTables(doc)).toBe(doc);
  });

  it('the gateway, camera and grid examples load without a single issue', async () => {
    const { store, tmp } = await loadExamples({ 'example.yaml': example('camera') });
    try {
      expect(store.issues()).toEqual([]);
      expect(store.gateway.users[0]?.scope).toBe('441202');
      expect(store.gateway.grids.file).toBe(join(tmp.dir, 'grids', 'city.geojson'));
      const cams = store.cameras();
      expect(cams.map((c) => [c.id, c.gridCode])).toEqual([
        ['dz-0001', '441202001001002'],
        ['dz-0002', '441202001001003'],
        ['demo-file', '441202001001002'],
      ]);
      expect(store.grids().lookup(112.05, 23.1)?.kind).toBe('school');
    } finally {
      await store.close();
      await tmp.cleanup();
    }
  });

  it('the error example prints exactly the lines the doc shows', async () => {
    const { store, tmp } = await loadExamples({ 'bad.yaml': example('bad-camera') });
    try {
      const shown = example('bad-camera-errors').trim().split('\n');
      const got = store
        .rejected()
        .flatMap((r) => r.errors)
        .map((e) => e.replace(`${tmp.dir}/`, ''));
      expect(got).toEqual(shown);
    } finally {
      await store.close();
      await tmp.cleanup();
    }
  });

  it('the CSV example imports cleanly', () => {
    const r = importCamerasCsv(Buffer.from(example('csv')), 'example.csv', 'doc');
    expect(r.issues).toEqual([]);
    expect(r.files[0]?.cameras.map((c) => c.id)).toEqual(['44120200001310000001', '44120200001310000002']);
    expect(r.envVars.map((e) => e.name)).toEqual([
      'CAM_44120200001310000001_PASSWORD',
      'CAM_44120200001310000002_PASSWORD',
    ]);
    expect(JSON.stringify(r.files)).not.toContain('Hik12345');
    expect(JSON.stringify(r.files)).not.toContain('Pw-2');
  });
});
