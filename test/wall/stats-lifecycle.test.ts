import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contracts/alert.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { loadGridFile } from '../../core/grid/grid-index.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { freePort } from '../../core/util/free-port.js';
import { alertLifecycleTable } from '../../app/alert-lifecycle-table.js';
import { createDispatcher, type Dispatcher } from '../../features/dispatcher/dispatcher.js';
import { readPluginTypes } from '../../features/detectors/index.js';
import { REPO_ROOT } from '../helpers/media.js';
import { DispatcherConfigSchema, ForwardTargetSchema } from '../../features/dispatcher/dispatcher-config.js';
import { aggregateStats } from '../../features/wall/stats-aggregate.js';
import { startTestRedis } from '../helpers/redis.js';
import {
  actors,
  cameras,
  finding,
  GRID,
  postCallback,
  startReceiver,
  waitFor,
  writeGridFile,
} from '../dispatcher/fixtures.js';

/** The labels production stores and forwards: the plugin manifests' (as buildGateway reads them). */
const TYPES = new Map((await readPluginTypes({ pluginDirs: [] }, REPO_ROOT)).map((t) => [t.type, t]));

/**
 * The whole lifecycle on a controlled clock, through the real dispatcher: raised, claimed 5 min
 * later, confirmed at 12 min, forwarded to a real HTTP platform, closed by the platform's signed
 * callback at 3 h. What the statistics read (AlertService.timelines: alerts and their audit from
 * redis) must give exactly those times, and the figures must follow from them.
 */
const SECRET = 'stats-platform-secret-0123456789';
const MIN = 60_000;
const T0 = Date.parse('2026-11-30T01:00:00Z');
let now = T0;

let redis: Awaited<ReturnType<typeof startTestRedis>>;
let dir: string;
let grids: GridIndex;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let d: Dispatcher;
let server: Server;
let base: string;

const alertOf = async (track: string): Promise<Alert> =>
  waitFor(`alert of ${track}`, async () =>
    (await d.alerts.list({ scope: GRID.city, limit: 50 })).items.find((a) => a.trackIds.includes(track)),
  );

beforeAll(async () => {
  redis = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'gw-stats-'));
  grids = (await loadGridFile(await writeGridFile(dir))).index;
  receiver = await startReceiver(SECRET, await freePort());
  process.env.GW_TEST_STATS_SECRET = SECRET;
  d = createDispatcher({
    config: DispatcherConfigSchema.parse({
      prefix: 'stats',
      fallbackGridCode: GRID.township,
      tickSec: 3_600,
      forwardBackoff: { baseMs: 100, maxMs: 400 },
      dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone', 'track'] } },
    }),
    forwarding: [
      ForwardTargetSchema.parse({ id: 'city', url: receiver.url, secret: { env: 'GW_TEST_STATS_SECRET' } }),
    ],
    redisUrl: redis.url,
    grids: () => grids,
    cameras: () => cameras(),
    typeInfo: (type) => TYPES.get(type),
    publicUrl: 'https://gridwatch.example.cn/',
    baseDir: dir,
    retention: { alertsDays: 180, evidenceDays: 30, evidenceMaxMb: 100 },
    clock: () => now,
    workers: true,
    schedulers: false,
    logger: pino({ level: 'silent' }),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
  });
  await d.start();
  const app = express();
  app.use('/api/platform', d.callbackRouter);
  const port = await freePort();
  server = await new Promise<Server>((r) => {
    const s = app.listen(port, '127.0.0.1', () => r(s));
  });
  base = `http://127.0.0.1:${port}/api/platform`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await d?.close();
  await receiver?.down();
  await redis?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('statistics over a whole lifecycle on a controlled clock', () => {
  it('reads claim, confirm and close times from the audit and counts overdue against the SLA', async () => {
    await d.sink.submit(finding({ trackIds: ['x'] }));
    await d.sink.submit(finding({ trackIds: ['y'] }));
    await d.sink.submit(finding({ trackIds: ['z'] }));
    const [x, y, z] = [await alertOf('x'), await alertOf('y'), await alertOf('z')];
    expect([x.createdAt, y.createdAt, z.createdAt]).toEqual([T0, T0, T0]);

    now = T0 + 5 * MIN;
    await d.alerts.act(x.id, { action: 'claim' }, actors.zhang);
    now = T0 + 12 * MIN;
    await d.alerts.act(x.id, { action: 'confirm' }, actors.zhang);
    await waitFor('case forwarded', async () =>
      (await d.alerts.get(x.id, actors.admin)).caseId ? true : null,
    );
    now = T0 + 20 * MIN;
    await d.alerts.act(y.id, { action: 'reject', reason: 'false_detection' }, actors.li);
    now = T0 + 180 * MIN;
    const cb = await postCallback(
      base,
      { alertId: x.id, status: 'closed' },
      { secret: SECRET, ts: now / 1_000 },
    );
    expect(cb.status).toBe(200);
    expect((await d.alerts.get(x.id, actors.admin)).state).toBe('closed');

    const { items, truncated } = await d.alerts.timelines({
      scope: GRID.city,
      from: T0,
      to: now,
      limit: 100,
    });
    expect(truncated).toBe(false);
    const byId = new Map(items.map((t) => [t.alert.id, t]));
    expect(byId.get(x.id)).toMatchObject({
      claimedAt: T0 + 5 * MIN,
      decidedAt: T0 + 12 * MIN,
      closedAt: T0 + 180 * MIN,
    });
    expect(byId.get(y.id)).toMatchObject({ claimedAt: null, decidedAt: T0 + 20 * MIN, closedAt: null });
    expect(byId.get(z.id)).toMatchObject({ claimedAt: null, decidedAt: null, closedAt: null });
    // Outside [from, to] nothing is read.
    expect((await d.alerts.timelines({ scope: GRID.city, from: T0 + 1, to: now, limit: 100 })).items).toEqual(
      [],
    );
    const two = await d.alerts.timelines({ scope: GRID.city, from: T0, to: now, limit: 2 });
    expect([two.items.length, two.truncated]).toEqual([2, true]);
    const typed = await d.alerts.timelines({
      scope: GRID.city,
      types: ['street_vending'],
      from: T0,
      to: now,
      limit: 100,
    });
    expect(typed.items).toEqual([]);

    const figures = (hoursLater: number) =>
      aggregateStats(items, {
        groupBy: 'grid',
        now: T0 + hoursLater * 3_600_000,
        slaMs: 24 * 3_600_000,
        openStates: alertLifecycleTable().openStates,
        grids,
        timeZone: 'Asia/Shanghai',
      }).totals;
    expect(figures(25)).toEqual({
      key: '',
      name: '',
      raised: 3,
      claimed: 1,
      confirmed: 1,
      rejected: 1,
      falseDetections: 1,
      rejectRate: 0.5,
      closed: 1,
      medianClaimMs: 5 * MIN,
      medianConfirmMs: 12 * MIN,
      medianCloseMs: 180 * MIN,
      // Only z: x is closed and y rejected.
      overdue: 1,
    });
    expect(figures(23).overdue).toBe(0);
  });
});
