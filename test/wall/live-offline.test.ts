import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers/wall-harness.js';

/**
 * Live view of a camera whose stream is not there (issue 13, item 6): the request fails with a
 * catalogue 5xx, and the log gets one warn line with the code, no error-level line or stack.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ logLevel: 'debug' });
});
afterAll(async () => h?.close());

describe('live view of an offline camera', () => {
  it('is a GW_LIVE_* reply and one warn line, not an error stack', async () => {
    const s = await h.login('admin');
    const before = h.logs.lines.length;
    const r = await fetch(`${h.url}/api/v1/cameras/cam-bs-01/live`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}` },
    });
    const body = (await r.json()) as { code: string };
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(body.code).toMatch(/^GW_LIVE_(FAILED|TIMEOUT)$/);
    const lines = h.logs.lines
      .slice(before)
      .map((l) => JSON.parse(l) as { level: number; msg: string; code?: string });
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.filter((l) => l.msg === 'http request failed').map((l) => l.code)).toEqual([body.code]);
    expect(h.logs.lines.slice(before).join('\n')).not.toMatch(/\bat .+:\d+:\d+/);
  }, 60_000);
});
