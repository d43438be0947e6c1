import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWatchedConfigFile } from '../../core/config/watched-config-file.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { SourcesFileSchema } from '../../features/events/events-config.js';

/** sources.yaml validation: file, line and field on a bad first load; last good kept on a bad edit. */
const dir = mkdtempSync(join(tmpdir(), 'gw-sources-'));
const file = join(dir, 'sources.yaml');
const logger = createLogger({ level: 'silent' });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = `sources:
  - id: app
    name: 随手拍
    auth: { type: hmac, secret: { env: GW_TEST_SECRET } }
    scope: ['3301']
    kinds: [report]
`;

describe('sources.yaml', () => {
  it('a bad file fails the first load naming file, line and field', async () => {
    writeFileSync(file, good.replace('kinds: [report]', 'kinds: [report, fireworks]'));
    const f = createWatchedConfigFile({ file, schema: SourcesFileSchema, logger, watch: false });
    const err = await f.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const issue = (err as ConfigError).issues[0]!;
    expect(issue).toMatchObject({ source: file, path: 'sources[0].kinds[1]', line: 6 });
    writeFileSync(file, good.replace('type: hmac', 'type: password'));
    const e2 = (await f.load().catch((e: unknown) => e)) as ConfigError;
    expect(e2.issues[0]?.path).toBe('sources[0].auth.type');
  });

  it('a bad edit keeps the last good version and lists its issues', async () => {
    writeFileSync(file, good);
    const f = createWatchedConfigFile({ file, schema: SourcesFileSchema, logger, watch: false });
    expect((await f.load()).sources[0]?.ratePerMin).toBe(60);
    writeFileSync(file, `${good}    ratePerMin: -1\n`);
    const v = await f.refresh();
    expect(v.sources[0]?.ratePerMin).toBe(60);
    expect(f.issues()[0]?.path).toBe('sources[0].ratePerMin');
    writeFileSync(file, `${good}    ratePerMin: 5\n`);
    expect((await f.refresh()).sources[0]?.ratePerMin).toBe(5);
    expect(f.issues()).toEqual([]);
    await f.close();
  });
});
