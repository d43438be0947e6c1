import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DetectorsConfigSchema } from '../../../features/detectors/config/detectors-config.js';
import { loadPlugins, type PluginSet } from '../../../features/detectors/loader/plugin-loader.js';
import type { RuleInput } from '../../../features/detectors/plugin-api/contract.js';
import { FIXTURES, camera, captureLogger } from './helpers.js';

const input = (at: number): RuleInput => ({
  frame: { cameraId: 'c1', at, width: 512, height: 512 },
  tracks: [
    {
      label: 'person',
      score: 0.6,
      box: { x1: 0.1, y1: 0.1, x2: 0.2, y2: 0.4 },
      trackId: 't1',
      firstSeen: 0,
      lastSeen: at,
      stationarySince: 0,
      missed: 0,
      hits: 3,
    },
  ],
  zones: [],
  active: true,
  inferred: true,
  dwellFactor: {},
});

describe('plugin loader', () => {
  let set: PluginSet;
  const cap = captureLogger();
  const metrics = new Registry();

  beforeAll(async () => {
    const config = DetectorsConfigSchema.parse({
      pluginDirs: [join(FIXTURES, 'bad-plugins')],
      pluginTimeoutMs: 1_000,
    });
    set = await loadPlugins({ config, baseDir: FIXTURES, logger: cap.logger, metrics });
  });
  afterAll(async () => {
    await set.close();
    await set.close();
  });

  it('loads the built-in plugins and a package.json plugin, and disables the broken ones with clear errors', () => {
    const st = new Map(set.status().map((s) => [s.name, s]));
    for (const name of [
      'illegal_parking',
      'street_vending',
      'crowd_gathering',
      'example-loitering',
      'every-person',
    ]) {
      expect(st.get(name)?.status, name).toBe('enabled');
    }
    const imp = st.get('throws-at-import');
    expect(imp?.status).toBe('disabled');
    expect(imp?.error?.code).toBe('GW_PLUGIN_LOAD');
    expect(imp?.error?.message).toContain('boom at import: missing native dependency');
    expect(imp?.error?.message).toContain(join('throws-at-import', 'index.ts'));

    const bad = st.get('bad-manifest');
    expect(bad?.status).toBe('disabled');
    expect(bad?.error?.code).toBe('GW_PLUGIN_MANIFEST');
    expect(bad?.error?.message).toContain(join('bad-manifest', 'gridwatch-plugin.json'));
    expect(bad?.error?.message).toMatch(/name: /);
    expect(bad?.error?.message).toMatch(/version: /);

    expect(set.ruleNames()).toContain('illegal_parking');
    expect(set.ruleNames()).not.toContain('broken_import');
    expect(set.typeInfos().find((t) => t.type === 'illegal_parking')).toMatchObject({
      zh: '违章停车',
      en: 'Illegal parking',
    });
    expect(set.typeInfos().some((t) => t.type === 'broken_import')).toBe(false);
  });

  it('cuts off a rule stuck in a synchronous infinite loop, and the other plugins keep answering', async () => {
    const hang = await set.createRule('hang_rule', 'c1', {});
    const ok = await set.createRule('person_seen', 'c1', { minHits: 1 });
    expect(hang).not.toBeNull();
    expect(ok).not.toBeNull();
    const t0 = Date.now();
    expect(await hang!.evaluate(input(1_000))).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const s = set.status().find((p) => p.name === 'hangs-in-evaluate');
    expect(s?.status).toBe('disabled');
    expect(s?.error?.code).toBe('GW_PLUGIN_TIMEOUT');
    expect(s?.error?.message).toMatch(/evaluate for camera c1 did not return within 1000 ms/);
    // Further calls do not wait for the timeout again.
    expect(await hang!.evaluate(input(2_000))).toEqual([]);
    const em = await ok!.evaluate(input(2_000));
    expect(em).toHaveLength(1);
    expect(em[0]).toMatchObject({ type: 'person_seen', key: 't1' });
    expect(cap.lines.some((l) => l.plugin === 'every-person' && l.msg === 'every-person rule created')).toBe(
      true,
    );
    expect(await metrics.getSingleMetricAsString('gridwatch_detector_plugins_disabled_total')).toMatch(
      /plugin="hangs-in-evaluate",code="GW_PLUGIN_TIMEOUT"} 1/,
    );
  });

  it('disables a plugin whose evaluate throws, with the message, after its good samples', async () => {
    const r = await set.createRule('throw_rule', 'c2', {});
    for (let i = 1; i <= 3; i++) expect(await r!.evaluate(input(i * 1_000))).toEqual([]);
    expect(set.status().find((p) => p.name === 'throws-in-evaluate')?.status).toBe('enabled');
    expect(await r!.evaluate(input(4_000))).toEqual([]);
    const s = set.status().find((p) => p.name === 'throws-in-evaluate');
    expect(s?.status).toBe('disabled');
    expect(s?.error?.code).toBe('GW_PLUGIN_FAILED');
    expect(s?.error?.message).toContain('cannot read properties of undefined (sample 4)');
  });

  it('validateCamera names unknown rules and bad options by field path', () => {
    const cam = camera({
      id: 'cam-v',
      detectors: [
        { rule: 'illegal_parkin', options: {} },
        { rule: 'illegal_parking', options: { dwellSec: -5, colour: 'red' } },
      ],
      zones: [
        {
          id: 'z1',
          name: '禁停区',
          polygon: [
            [0, 0],
            [1, 0],
            [1, 1],
          ],
          rules: ['illegal_parking', 'crowd_gathering'],
        },
      ],
    });
    const issues = set.validateCamera(cam);
    const byPath = new Map(issues.map((i) => [i.path, i]));
    expect(byPath.get('detectors[0].rule')?.message).toBe('unknown rule "illegal_parkin"');
    expect(byPath.get('detectors[0].rule')?.expected).toContain('illegal_parking');
    expect(byPath.get('detectors[1].options.dwellSec')?.found).toBe('-5');
    expect(issues.some((i) => i.path === 'detectors[1].options' && /colour/.test(i.message))).toBe(true);
    expect(byPath.get('zones[0].rules[1]')?.message).toMatch(/does not run it/);
    expect(issues.every((i) => i.source === 'test.yaml' && i.line === 1)).toBe(true);
    expect(
      set.validateCamera(
        camera({ id: 'ok', detectors: [{ rule: 'illegal_parking', options: { dwellSec: 60 } }] }),
      ),
    ).toEqual([]);
  });

  it('refuses a camera whose options fail the schema without disabling the plugin for others', async () => {
    expect(await set.createRule('illegal_parking', 'bad-opts', { dwellSec: -1 })).toBeNull();
    expect(set.status().find((p) => p.name === 'illegal_parking')?.status).toBe('enabled');
    expect(
      cap.lines.some((l) => l.cameraId === 'bad-opts' && /options\.dwellSec/.test(String(l.error))),
    ).toBe(true);
    expect(await set.createRule('illegal_parking', 'good', { dwellSec: 30 })).not.toBeNull();
  });

  it('returns null for a rule no enabled plugin raises, instead of throwing', async () => {
    expect(await set.createRule('broken_import', 'c3', {})).toBeNull();
    expect(await set.createRule('nope', 'c3', {})).toBeNull();
  });
});
