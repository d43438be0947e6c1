import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_DIR, exportSchemas } from '../../scripts/export-schema.js';

describe('config/schema/*.schema.json', () => {
  const fresh = exportSchemas();
  for (const [name, text] of Object.entries(fresh)) {
    it(`${name} equals a fresh export (run \`npm run schema\` after changing a schema)`, async () => {
      expect(await readFile(join(SCHEMA_DIR, name), 'utf8')).toBe(text);
    });
  }
  it('exports the config files with their key constraints', () => {
    expect(Object.keys(fresh).sort()).toEqual([
      'camera-file.schema.json',
      'departments.schema.json',
      'gateway.schema.json',
      'grid-file.schema.json',
      'sources.schema.json',
      'workers.schema.json',
    ]);
    const cam = JSON.parse(fresh['camera-file.schema.json']!) as {
      required: string[];
      additionalProperties: boolean;
    };
    expect(cam.required).toEqual(['cameras']);
    expect(cam.additionalProperties).toBe(false);
    // Input shapes: fields with defaults are optional for whoever writes the file.
    const gw = JSON.parse(fresh['gateway.schema.json']!) as { required?: string[] };
    expect(gw.required ?? []).toEqual([]);
  });
});
