import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { i18nMissing, SCREENSHOT_DIR } from './helpers/browser.js';
import type { Harness } from './helpers/wall-harness.js';
import { startWallBrowser, type WallBrowser } from './helpers/wall-browser.js';

/** The 统计考核 page in Debian's chromium, over alerts made and handled through the real path. */
// The page side of evaluate() callbacks, typed structurally: the project compiles without the DOM lib.
interface Doc {
  getElementById(id: string): { dataset: Record<string, string | undefined> } | null;
}

let w: WallBrowser;
let h: Harness;

beforeAll(async () => {
  w = await startWallBrowser({ logLevel: 'warn' });
  h = w.h;
});
afterAll(() => w?.close());

async function act(user: string, id: string, body: object): Promise<void> {
  const { token } = await h.login(user);
  const auth = { authorization: `Bearer ${token}` };
  // Every action names the version it was meant for: the one this operator reads now.
  const seen = (await (await fetch(`${h.url}/api/v1/alerts/${id}`, { headers: auth })).json()) as {
    alert: { version: number };
  };
  const res = await fetch(`${h.url}/api/v1/alerts/${id}/actions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, version: seen.alert.version }),
  });
  expect(res.status).toBe(200);
}

describe('the statistics page in chromium', () => {
  it('shows the figures, draws both charts, regroups, exports CSV and switches language', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01' });
    const b = await h.inject({ cameraId: 'cam-df-02', type: 'street_vending' });
    const c = await h.inject({ cameraId: 'cam-bs-01' });
    await h.inject({ cameraId: 'cam-bs-01', type: 'street_vending' });
    const e = await h.inject({ cameraId: 'cam-df-02' });
    await act('zhangwei', a.id, { action: 'claim' });
    await act('zhangwei', a.id, { action: 'confirm' });
    await act('zhangwei', b.id, { action: 'reject', reason: 'false_detection' });
    await act('lina', c.id, { action: 'claim' });
    await act('lina', e.id, { action: 'confirm' });

    const zw = await w.open('zhangwei', { width: 1600, height: 1000 });
    const { page } = zw;
    await page.locator('#nav a[data-view="stats"]').click();
    await page.locator('#stats-panel[data-ready]').waitFor();
    const row = page.locator('#stats-table tbody tr[data-key="330101"]');
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 8)).toEqual(['东城区', '5', '2', '2', '1', '1', '33.3%', '0']);
    // No departments file here: GET /departments/stats says so (no failed request) and no table shows.
    expect(await page.locator('#stats-departments').count()).toBe(0);
    // ECharts drew into both containers (canvas renderer).
    for (const id of ['stats-chart-groups', 'stats-chart-days']) {
      await page.locator(`#${id} canvas`).first().waitFor();
    }

    // By grid: one row per grid with alerts, and the export link follows the choice.
    const ready = await page.locator('#stats-panel').getAttribute('data-ready');
    await page.locator('#stats-group').selectOption('grid');
    await page.waitForFunction(
      (before) =>
        (globalThis as unknown as { document: Doc }).document.getElementById('stats-panel')?.dataset.ready !==
        before,
      ready,
    );
    const keys = await page
      .locator('#stats-table tbody tr')
      .evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { key: string } }).dataset.key));
    // Most alerts first, then by code; the totals row last.
    expect(keys).toEqual(['330101001001002', '330101002001001', '330101001001001', '']);

    await page.locator('#stats-chart-groups canvas').first().waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'wall-stats.png') });

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#stats-export').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(
      /^gridwatch-stats-grid-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/,
    );
    const file = readFileSync((await download.path())!);
    expect([...file.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = file.subarray(3).toString('utf8').split('\r\n');
    expect(lines[0]!.startsWith('编码,名称,告警数')).toBe(true);
    expect(lines.filter((l) => l.startsWith('3301'))).toHaveLength(3);

    await page.locator('header .lang-switch').click();
    await page.locator('#stats-table th', { hasText: 'Median to confirm (min)' }).waitFor();
    expect(await i18nMissing(page)).toBe('');
    // The page asks for its session once before logging in (401): the only expected failure.
    expect(zw.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
