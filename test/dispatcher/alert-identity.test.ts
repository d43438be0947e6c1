/**
 * One alert per event, and rejection honoured (issue 10 item 3, issue 14 item 2), through the
 * engine against a real redis-server: dedup never merges into a rejected or closed alert, the
 * same object merges into its open alert however long the gap, a rejected object that stays is
 * not raised again while a new object in the same place is, cooldown per camera, zone and rule,
 * suppression with and without zone, and the guards against a zero feedback factor.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Box } from '../../core/contracts/finding.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { Suppression } from '../../core/contracts/suppression.js';
import { loadGridFile } from '../../core/grid/grid-index.js';
import { dwellFactorFor, isSuppressed } from '../../core/rules/suppression-match.js';
import { createDispatcher, type Dispatcher } from '../../features/dispatcher/dispatcher.js';
import { DispatcherConfigSchema } from '../../features/dispatcher/dispatcher-config.js';
import { systemMove } from '../../features/dispatcher/lifecycle.js';
import { redisKeys } from '../../features/dispatcher/redis-keys.js';
import { startTestRedis } from '../helpers/redis.js';
import { actors, finding, GRID, testDispatcherOptions, writeGridFile } from './fixtures.js';

const logger = pino({ level: process.env.GW_TEST_LOG ?? 'silent' });
let redis: Awaited<ReturnType<typeof startTestRedis>>;
let dir: string;
let grids: GridIndex;
const open: Dispatcher[] = [];
let n = 0;

beforeAll(async () => {
  redis = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'gw-identity-'));
  grids = (await loadGridFile(await writeGridFile(dir))).index;
});
afterAll(async () => {
  await redis.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function make(config: Record<string, unknown> = {}) {
  const prefix = `id${++n}`;
  const d = createDispatcher(
    testDispatcherOptions({
      redisUrl: redis.url,
      dir,
      grids,
      logger,
      config: { prefix, dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone'] } }, ...config },
    }),
  );
  open.push(d);
  await d.start();
  return { d, prefix };
}

const box = (x: number, trackId: string): Box => ({
  x1: x,
  y1: 0.2,
  x2: x + 0.2,
  y2: 0.4,
  label: 'car',
  score: 0.8,
  trackId,
});
const T0 = Date.now();
/** A vehicle at `x`, tracked as `track`, whose condition began at `start` and was seen at `seen`. */
const at = (x: number, track: string, start: number, seen: number, over = {}) =>
  finding({ trackIds: [track], boxes: [box(x, track)], firstSeen: start, lastSeen: seen, ...over });

describe('dedup never merges into a rejected or closed alert', () => {
  it('a finding for the key of a rejected alert, within the window, opens a new alert', async () => {
    const { d } = await make();
    const first = await d.engine.ingest(at(0.1, 'v1', T0, T0 + 60_000));
    await d.alerts.act(first.alert!.id, { action: 'reject', reason: 'false_detection' }, actors.zhang);
    // Another vehicle in the same zone 10 s later: inside the window, same dedup key.
    const next = await d.engine.ingest(at(0.6, 'v2', T0 + 65_000, T0 + 70_000));
    expect(next.kind).toBe('new');
    expect(next.alert!.id).not.toBe(first.alert!.id);
    const rejected = await d.alerts.get(first.alert!.id, actors.admin);
    expect(rejected).toMatchObject({ state: 'rejected', count: 1 });
  });

  it('a finding for the key of a closed alert, same object, opens a new alert', async () => {
    const { d } = await make();
    const first = await d.engine.ingest(at(0.1, 'v1', T0, T0 + 60_000));
    await d.engine.update(first.alert!.id, (a) =>
      systemMove(a, 'closed', Date.now(), 'platform:test', 'closed'),
    );
    const next = await d.engine.ingest(at(0.1, 'v1', T0, T0 + 70_000));
    expect(next.kind).toBe('new');
    expect((await d.alerts.get(first.alert!.id, actors.admin)).count).toBe(1);
  });
});

describe('dedup by open alert, not only by window (issue 14 item 2)', () => {
  it('the same object merges into its open alert after a gap longer than the window and the key TTL', async () => {
    const { d, prefix } = await make({
      dedup: { default: { windowSec: 1, keys: ['camera', 'type', 'zone'] } },
    });
    const first = await d.engine.ingest(at(0.1, 'v1', T0, T0 + 60_000));
    // The dedup pointer outlives the window (it lives as long as dedupHoldSec), so an outage
    // longer than the window does not orphan the open alert.
    const r = new Redis(redis.url);
    const ttl = await r.ttl(redisKeys(prefix).dedup(`c=cam-a|t=illegal_parking|z=z-noparking`));
    await r.quit();
    expect(ttl).toBeGreaterThan(86_400);
    await new Promise((res) => setTimeout(res, 1_200));
    // Redis (or the node) away for 10 minutes: the detector re-sends the same parked car,
    // with a new track id from a restarted tracker but the same box.
    const later = await d.engine.ingest(at(0.11, 'v1-restarted', T0 + 600_000, T0 + 660_000));
    expect(later.kind).toBe('update');
    expect(later.alert!.id).toBe(first.alert!.id);
    expect(later.alert!.count).toBe(2);
    // A different object after the window is a new alert.
    const other = await d.engine.ingest(at(0.6, 'v2', T0 + 700_000, T0 + 760_000));
    expect(other.kind).toBe('new');
  });
});

describe('a rejected stationary object is not raised again while it stays', () => {
  it('the rejected van 29 s later is not raised; a new vehicle in the same place is', async () => {
    const { d } = await make({ rejectedObject: { gapSec: 60, holdSec: 3_600 } });
    const van = await d.engine.ingest(at(0.1, 'van', T0, T0 + 120_000));
    await d.alerts.act(van.alert!.id, { action: 'reject', reason: 'not_violation' }, actors.zhang);
    // The detector raises the van again 29 s later (its dwell clock restarted: a new track id).
    const again = await d.engine.ingest(at(0.1, 'van-2', T0 + 125_000, T0 + 149_000));
    expect(again.kind).toBe('rejected_object');
    // And again much later while it stays: each sighting extends the rejection.
    const still = await d.engine.ingest(at(0.12, 'van-3', T0 + 150_000, T0 + 3_000_000));
    expect(still.kind).toBe('rejected_object');
    expect(await d.alerts.list({ scope: GRID.city, limit: 10 })).toMatchObject({ total: 1 });
    // The van left; a car parks in the same bay later: raised.
    const car = await d.engine.ingest(at(0.1, 'car', T0 + 3_200_000, T0 + 3_260_000));
    expect(car.kind).toBe('new');
  });

  it('the rejection covers its own camera, zone and rule only', async () => {
    const { d } = await make();
    const van = await d.engine.ingest(at(0.1, 'van', T0, T0 + 120_000));
    await d.alerts.act(van.alert!.id, { action: 'reject', reason: 'false_detection' }, actors.zhang);
    const elsewhere = await d.engine.ingest(at(0.1, 'van', T0, T0 + 130_000, { zoneId: 'z-plain' }));
    expect(elsewhere.kind).toBe('new');
  });
});

describe('cooldown per camera, zone and rule', () => {
  it('no new alert for the same camera, zone and rule within the cooldown; merges and other zones go on', async () => {
    const { d } = await make({
      cooldownSec: { illegal_parking: 600 },
      dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone', 'track'] } },
    });
    const a = await d.engine.ingest(at(0.1, 'v1', T0, T0 + 60_000));
    expect(a.kind).toBe('new');
    expect((await d.engine.ingest(at(0.6, 'v2', T0 + 61_000, T0 + 90_000))).kind).toBe('cooldown');
    expect((await d.engine.ingest(at(0.1, 'v1', T0, T0 + 95_000))).kind).toBe('update');
    expect((await d.engine.ingest(at(0.6, 'v3', T0, T0 + 95_000, { zoneId: 'z-plain' }))).kind).toBe('new');
  });

  it('without a cooldown the second vehicle is its own alert', async () => {
    const { d } = await make({
      dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone', 'track'] } },
    });
    await d.engine.ingest(at(0.1, 'v1', T0, T0 + 60_000));
    expect((await d.engine.ingest(at(0.6, 'v2', T0 + 61_000, T0 + 90_000))).kind).toBe('new');
  });
});

const sup = (over: Partial<Suppression>): Suppression => ({
  id: 's.x',
  cameraId: 'cam-a',
  zoneId: 'z-noparking',
  type: 'illegal_parking',
  action: 'suppress',
  dwellFactor: 1,
  rejections: 5,
  createdAt: 0,
  ...over,
});

describe('suppression through the engine (one definition: core/rules/suppression-match.ts)', () => {
  it('with a zone: that zone only', async () => {
    const { d } = await make();
    d.engine.setSuppressed([sup({})]);
    expect((await d.engine.ingest(at(0.1, 'a', T0, T0 + 1))).kind).toBe('suppressed');
    expect((await d.engine.ingest(at(0.1, 'b', T0, T0 + 1, { zoneId: 'z-plain' }))).kind).toBe('new');
    expect((await d.engine.ingest(at(0.1, 'c', T0, T0 + 1, { zoneId: null }))).kind).toBe('new');
  });

  it('without a zone: every zone of the camera and its camera-wide findings, not other cameras or rules', async () => {
    const { d } = await make();
    d.engine.setSuppressed([sup({ zoneId: null })]);
    expect((await d.engine.ingest(at(0.1, 'a', T0, T0 + 1))).kind).toBe('suppressed');
    expect((await d.engine.ingest(at(0.1, 'b', T0, T0 + 1, { zoneId: 'z-plain' }))).kind).toBe('suppressed');
    expect((await d.engine.ingest(at(0.1, 'c', T0, T0 + 1, { zoneId: null }))).kind).toBe('suppressed');
    expect((await d.engine.ingest(at(0.1, 'd', T0, T0 + 1, { type: 'street_vending' }))).kind).toBe('new');
    expect(
      (await d.engine.ingest(at(0.1, 'e', T0, T0 + 1, { cameraId: 'cam-loc', zoneId: null }))).kind,
    ).toBe('new');
  });

  it('raise_dwell does not suppress', async () => {
    const { d } = await make();
    d.engine.setSuppressed([sup({ action: 'raise_dwell', dwellFactor: 2 })]);
    expect((await d.engine.ingest(at(0.1, 'a', T0, T0 + 1))).kind).toBe('new');
  });

  it('the core rule: zone null matches every zone; isSuppressed only for suppress', () => {
    const t = { cameraId: 'cam-a', zoneId: 'z1', type: 'illegal_parking' };
    expect(isSuppressed([sup({ zoneId: null })], t)).toBe(true);
    expect(isSuppressed([sup({ zoneId: 'z2' })], t)).toBe(false);
    expect(isSuppressed([sup({ zoneId: 'z1', action: 'raise_dwell' })], t)).toBe(false);
    expect(isSuppressed([sup({ zoneId: null, cameraId: 'cam-b' })], t)).toBe(false);
  });
});

describe('the feedback factor guard', () => {
  const t = { cameraId: 'cam-a', zoneId: 'z-noparking', type: 'illegal_parking' };

  it('dwellFactorFor never returns less than 1, whatever is stored', () => {
    expect(dwellFactorFor([sup({ action: 'raise_dwell', dwellFactor: 0 })], t)).toBe(1);
    expect(dwellFactorFor([sup({ action: 'raise_dwell', dwellFactor: Number.NaN })], t)).toBe(1);
    expect(dwellFactorFor([sup({ action: 'raise_dwell', dwellFactor: 0.5 })], t)).toBe(1);
    expect(dwellFactorFor([sup({ action: 'raise_dwell', dwellFactor: 3 })], t)).toBe(3);
    expect(dwellFactorFor([sup({ action: 'raise_dwell', dwellFactor: 3, zoneId: null })], t)).toBe(3);
  });

  it('a feedback factor of 0 in the config is refused, naming the field', () => {
    const r = DispatcherConfigSchema.safeParse({ feedback: { dwellFactor: 0 } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['feedback', 'dwellFactor']);
  });

  it('a stored suppression with factor 0 is never handed to the detectors; a good one is', async () => {
    const { d, prefix } = await make({
      feedback: { rejections: 1, windowSec: 3_600, action: 'raise_dwell', dwellFactor: 3 },
    });
    const lists: Suppression[][] = [];
    d.onSuppressions((l) => lists.push(l));
    const a = await d.engine.ingest(at(0.1, 'v1', T0, T0 + 60_000));
    await d.alerts.act(a.alert!.id, { action: 'reject', reason: 'false_detection' }, actors.zhang);
    expect(lists.at(-1)).toEqual([expect.objectContaining({ action: 'raise_dwell', dwellFactor: 3 })]);
    // A damaged record (another writer, a bad restore) with factor 0.
    const r = new Redis(redis.url);
    await r.hset(
      redisKeys(prefix).suppressions,
      's.cam-loc._.illegal_parking',
      JSON.stringify(
        sup({
          id: 's.cam-loc._.illegal_parking',
          cameraId: 'cam-loc',
          zoneId: null,
          action: 'raise_dwell',
          dwellFactor: 0,
        }),
      ),
    );
    await r.quit();
    const list = await d.alerts.suppressions();
    expect(list.map((s) => s.dwellFactor)).toEqual([3]);
    await d.tick();
    // The engine's list comes from the same parse; lifting the damaged record still works.
    await d.alerts.liftSuppression('s.cam-loc._.illegal_parking', actors.admin);
    expect((await d.alerts.suppressions()).map((s) => s.id)).toEqual([list[0]!.id]);
  });
});
