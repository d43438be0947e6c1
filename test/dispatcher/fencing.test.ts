/**
 * Cluster fencing at the dispatcher (issue 11 item 1): a finding stamped with a camera-lease
 * epoch older than the camera's current one (a node that was paused past its lease and woke
 * up) is dropped; one with the current epoch, or without a fence, becomes an alert. Real
 * redis-server, real BullMQ workers in this process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fenceEpochKey } from '../../core/contracts/fence.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { loadGridFile } from '../../core/grid/grid-index.js';
import { createDispatcher, type Dispatcher } from '../../features/dispatcher/dispatcher.js';
import { startTestRedis } from '../helpers/redis.js';
import { finding, GRID, testDispatcherOptions, waitFor, writeGridFile } from './fixtures.js';

const logger = pino({ level: process.env.GW_TEST_LOG ?? 'silent' });
const FENCE_PREFIX = 'gwc';
let redis: Awaited<ReturnType<typeof startTestRedis>>;
let dir: string;
let grids: GridIndex;
let d: Dispatcher;

beforeAll(async () => {
  redis = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'gw-fence-'));
  grids = (await loadGridFile(await writeGridFile(dir))).index;
  d = createDispatcher({
    ...testDispatcherOptions({
      redisUrl: redis.url,
      dir,
      grids,
      logger,
      // Each finding its own alert: the test counts what got through.
      config: {
        prefix: 'fence',
        dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone', 'place'] } },
      },
    }),
    fencePrefix: FENCE_PREFIX,
    workers: true,
  });
  await d.start();
});
afterAll(async () => {
  await d?.close();
  await redis.close();
  await rm(dir, { recursive: true, force: true });
});

describe('lease fencing in the findings jobs', () => {
  it('drops a finding from an older lease epoch, keeps the current one and unfenced ones', async () => {
    const r = new Redis(redis.url);
    await r.set(fenceEpochKey(FENCE_PREFIX, 'cam-a'), '3');
    await r.quit();
    // Three objects far apart (distinct tracks and boxes), so none merges into another.
    const obj = (trackId: string, x: number) => ({
      placeKey: trackId,
      trackIds: [trackId],
      boxes: [{ x1: x, y1: 0.2, x2: x + 0.1, y2: 0.3, label: 'car', score: 0.8, trackId }],
    });
    const stale = finding({ ...obj('old-owner', 0.05), fence: { token: 2, nodeId: 'node-b' } });
    const current = finding({ ...obj('new-owner', 0.45), fence: { token: 3, nodeId: 'node-a' } });
    const unfenced = finding(obj('embedded', 0.85));
    for (const f of [stale, current, unfenced]) await d.sink.submit(f);
    await waitFor('both valid findings raised', async () => {
      const list = await d.alerts.list({ scope: GRID.city, limit: 50 });
      return list.total >= 2 ? list : null;
    });
    // Give the stale one every chance to arrive: drain the queue before counting.
    await waitFor('queue drained', async () => {
      const c = await d.queues.findings.getJobCounts('wait', 'active', 'delayed');
      return (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0;
    });
    const list = await d.alerts.list({ scope: GRID.city, limit: 50 });
    expect(list.items.flatMap((a) => a.trackIds).sort()).toEqual(['embedded', 'new-owner']);
  });
});
