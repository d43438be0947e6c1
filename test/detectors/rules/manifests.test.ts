import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  PluginManifestSchema,
  type DetectorPlugin,
} from '../../../features/detectors/plugin-api/contract.js';
import { REPO_ROOT } from '../../helpers/media.js';

const DIR = join(REPO_ROOT, 'features', 'detectors', 'plugins');
const MINE = [
  'illegal_parking',
  'street_vending',
  'crowd_gathering',
  'road_obstruction',
  'fire_smoke',
  'example-loitering',
];

describe('built-in rule plugins: manifests and option schemas', () => {
  it('are all present', () => {
    const found = readdirSync(DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    for (const m of MINE) expect(found).toContain(m);
  });

  for (const name of MINE) {
    it(`${name}: strict manifest, labels, strict described options with defaults`, async () => {
      const manifest = PluginManifestSchema.parse(
        JSON.parse(readFileSync(join(DIR, name, 'gridwatch-plugin.json'), 'utf8')),
      );
      expect(manifest.name).toBe(name);
      expect(manifest.kind).toBe('rule');
      for (const t of manifest.findingTypes) {
        expect(t.zh).toMatch(/[\u4e00-\u9fff]/);
        expect(t.color).toMatch(/^#/);
        expect(t.icon).toBeTruthy();
      }
      const mod = (await import(pathToFileURL(join(DIR, name, 'index.ts')).href)) as {
        default: DetectorPlugin;
      };
      const schema = mod.default.optionsSchema!;
      expect(schema.safeParse({}).success).toBe(true); // every option has a default
      expect(schema.safeParse({ noSuchOption: 1 }).success).toBe(false); // strict
      const json = JSON.stringify(z.toJSONSchema(schema, { io: 'input' }));
      expect(json).toContain('"description"');
      expect(json).toContain('"additionalProperties":false');
      expect(typeof mod.default.createRule).toBe('function');
    });
  }
});
