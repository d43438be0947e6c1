import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaPath } from '../../helpers/media.js';
import { FIXTURES, camera } from '../core/helpers.js';
import { createRig, type Rig } from './setup.js';

describe('broken plugins next to the default rules, on vtest.avi', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await createRig({ pluginDirs: [join(FIXTURES, 'bad-plugins')], pluginTimeoutMs: 1_000 });
  }, 300_000);
  afterAll(async () => {
    await rig.close();
  });

  it('disables the one that throws, the one that hangs and the one with a bad manifest, and still finds the van', async () => {
    const cam = camera({
      id: 'vtest-mixed',
      samplingIntervalSec: 1,
      detectors: [
        { rule: 'hang_rule', options: {} },
        { rule: 'throw_rule', options: {} },
        { rule: 'illegal_parking', options: { dwellSec: 15 } },
        { rule: 'person_seen', options: { minHits: 3 } },
      ],
      zones: [
        {
          id: 'van-bay',
          name: '面包车禁停区',
          polygon: [
            [0.82, 0.05],
            [0.945, 0.05],
            [0.945, 0.21],
            [0.82, 0.21],
          ],
          rules: ['illegal_parking'],
        },
      ],
    });
    const r = await rig.analyze(mediaPath('vtest.avi'), cam, { maxSec: 30 });
    const status = new Map(rig.plugins.status().map((s) => [s.name, s]));
    expect(status.get('hangs-in-evaluate')?.error?.code).toBe('GW_PLUGIN_TIMEOUT');
    expect(status.get('throws-in-evaluate')?.error?.code).toBe('GW_PLUGIN_FAILED');
    expect(status.get('throws-at-import')?.error?.code).toBe('GW_PLUGIN_LOAD');
    expect(status.get('bad-manifest')?.error?.code).toBe('GW_PLUGIN_MANIFEST');
    expect(status.get('illegal_parking')?.status).toBe('enabled');
    // The default rule kept producing its finding after the others were cut off.
    const parking = r.events.filter((e) => e.type === 'illegal_parking');
    expect(parking).toHaveLength(1);
    expect(parking[0]!.raisedAt).toBeGreaterThanOrEqual(15);
    // So did a healthy external plugin (manifest in package.json).
    expect(r.events.filter((e) => e.type === 'person_seen').length).toBeGreaterThanOrEqual(3);
    expect(r.framesSampled).toBe(30);
  }, 180_000);
});
