/**
 * Bounded config parsing (issue 14, item 3): however many problems a camera file has, the store
 * lists at most LIMITS.issuesPerFile of them with the count of the rest, logs lines of bounded
 * length and a bounded number of lines, and still loads the good cameras. Counts, not times:
 * speed is in bench/config-load.ts.
 */
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGatewayConfigStore } from '../../app/gateway-config-store.js';
import { LIMITS } from '../../core/config/read-config-text.js';
import { createConfigParser } from '../../core/config-store/config-parser.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { cameraYaml, captureLogger, makeConfigDir } from './fixtures.js';

const parser = createConfigParser({ logger: captureLogger().logger });
afterAll(() => parser.close());

async function load(cameras: Record<string, string>) {
  const tmp = await makeConfigDir({ cameras });
  const cap = captureLogger();
  const store = createGatewayConfigStore({
    gatewayFile: tmp.gatewayFile,
    logger: cap.logger,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    watch: false,
    parser,
  });
  await store.load();
  const result = {
    issues: store.issues().filter((i) => basename(i.source) !== 'gateway.yaml'),
    rejected: store.rejected(),
    cameras: store.cameras().map((c) => c.id),
    logLines: cap.text().split('\n').filter(Boolean),
  };
  await store.close();
  await tmp.cleanup();
  return result;
}

const N = LIMITS.issuesPerFile;

describe('bounded config parsing', () => {
  it('a file with 50,000 unknown keys is rejected with a capped issue list and short log lines', async () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `unknown_key_${i}: ${i}`).join('\n');
    const r = await load({ 'c.yaml': `cameras: []\n${keys}\n` });
    expect(r.issues).toHaveLength(N + 1);
    expect(r.issues.slice(0, N).every((i) => i.message.startsWith('unknown key'))).toBe(true);
    // in file order, with line numbers
    expect(r.issues[0]).toMatchObject({ line: 2, column: 1, path: 'unknown_key_0' });
    expect(r.issues[N - 1]).toMatchObject({ line: N + 1, path: `unknown_key_${N - 1}` });
    expect(r.issues[N]!.message).toBe(`${50_000 - N} more issues not listed`);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0]!.errors.length).toBeLessThanOrEqual(N + 2);
    for (const l of r.logLines) expect(l.length).toBeLessThan(LIMITS.logLineChars + 1_000);
  });

  it('50,000 duplicate keys are found (linear check) and listed up to the cap', async () => {
    const dups = Array.from({ length: 50_000 }, () => `same: 1`).join('\n');
    const r = await load({ 'c.yaml': `cameras: []\n${dups}\n` });
    expect(r.issues).toHaveLength(N + 1);
    expect(r.issues[0]).toMatchObject({ line: 3, message: 'Map keys must be unique' });
    expect(r.issues[N]!.message).toBe(`${50_000 - 1 - N} more issues not listed`);
  });

  it('one camera with 5,000 unknown keys is rejected with the cap; the good camera in the file still loads', async () => {
    const keys = Array.from({ length: 5_000 }, (_, i) => `    junk_${i}: ${i}`).join('\n');
    const r = await load({ 'c.yaml': `cameras:\n${cameraYaml('good-1')}${cameraYaml('bad-1')}${keys}\n` });
    expect(r.cameras).toEqual(['good-1']);
    expect(r.issues).toHaveLength(N + 1);
    expect(r.issues[0]!.path).toBe('cameras[1].junk_0');
    expect(r.issues[N]).toMatchObject({ path: 'cameras[1]', message: `${5_000 - N} more issues not listed` });
  });

  it('once the file budget is spent, every further rejected entry still says why (one issue each)', async () => {
    const bad = (i: number) =>
      cameraYaml(`bad-${i}`, Array.from({ length: 30 }, (_, k) => `    x${k}: 1`).join('\n') + '\n');
    const r = await load({ 'c.yaml': `cameras:\n${Array.from({ length: 10 }, (_, i) => bad(i)).join('')}` });
    expect(r.rejected).toHaveLength(10);
    for (const rej of r.rejected) expect(rej.errors.length).toBeGreaterThanOrEqual(1);
    // 3 entries fit the budget of 100 in full (90), the 4th gets 10 + a count, the rest 1 + a count
    const perEntry = r.rejected.map((x) => x.errors.length);
    expect(perEntry).toEqual([30, 30, 30, 11, 2, 2, 2, 2, 2, 2]);
  });

  it(`logs at most ${LIMITS.loggedEntriesPerFile} rejected entries of a file one by one, then one summary line`, async () => {
    const r = await load({
      'c.yaml': `cameras:\n${Array.from({ length: 45 }, (_, i) => cameraYaml(`bad-${i}`, '    nope: 1\n')).join('')}`,
    });
    expect(r.rejected).toHaveLength(45);
    const rejectedLines = r.logLines.filter((l) => l.includes('camera entry rejected'));
    expect(rejectedLines).toHaveLength(LIMITS.loggedEntriesPerFile);
    const summary = r.logLines.filter((l) =>
      l.includes('more rejected camera entries in this file not logged'),
    );
    expect(summary).toHaveLength(1);
    expect(JSON.parse(summary[0]!)).toMatchObject({ more: 45 - LIMITS.loggedEntriesPerFile });
  });
});
