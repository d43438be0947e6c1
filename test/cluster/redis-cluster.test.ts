/**
 * Issue 11 item 4 for the parts that run on it today: the camera leases (lease scripts, the
 * registry, fencing epochs) and the Redis evidence store on a real 3-master Redis Cluster
 * (`redis-server --cluster-enabled yes`, joined by `redis-cli --cluster create`). Every script
 * declares its keys and the keys of one call share a hash tag; a tick's commands go out as
 * concurrent auto-pipelined calls, not one pipeline, because a pipeline may not span slots
 * (the first test shows Redis Cluster refusing exactly that).
 */
import pino from 'pino';
import type { Cluster } from 'ioredis';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fenceEpochKey, leaseKey } from '../../core/contracts/fence.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { createRedisBlobStore } from '../../core/evidence/redis-blob-store.js';
import { createCluster, type Cluster as GwCluster } from '../../features/cluster/cluster.js';
import { ClusterConfigSchema } from '../../features/cluster/cluster-config.js';
import { startRedisCluster, type TestRedisCluster } from './redis-cluster-fixture.js';
import { cameraIds, waitFor } from './support.js';

const PREFIX = 'gw:cluster';
const CAMS = cameraIds(30);
let rc: TestRedisCluster;
let admin: Cluster;
const nodes: GwCluster[] = [];

beforeAll(async () => {
  rc = await startRedisCluster();
  admin = rc.client();
  await admin.connect();
}, 60_000);
afterAll(async () => {
  for (const n of nodes) await n.close();
  admin?.disconnect();
  await rc?.close();
});

const config = ClusterConfigSchema.parse({
  enabled: true,
  prefix: PREFIX,
  heartbeatMs: 100,
  nodeTtlMs: 500,
  leaseTtlMs: 500,
});
function node(id: string) {
  const n = createCluster({
    config,
    redisUrl: 'redis://unused',
    logger: pino({ level: 'silent' }),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    nodeId: id,
    capacity: 100,
    connect: () =>
      rc.client({
        enableAutoPipelining: true,
        enableOfflineQueue: false,
        redisOptions: { maxRetriesPerRequest: 1 },
      }),
  });
  n.update(CAMS);
  nodes.push(n);
  return n;
}
/** Lease owner per camera, one GET each (the keys live on all three masters). */
async function owners(): Promise<Map<string, string | null>> {
  const vals = await Promise.all(CAMS.map((c) => admin.get(leaseKey(PREFIX, c))));
  return new Map(CAMS.map((c, i) => [c, vals[i]?.split('/')[0] ?? null]));
}

describe('on a 3-master Redis Cluster', () => {
  it('is a real cluster: the leases spread over every master, and a pipeline across slots is refused', async () => {
    const masters = (await admin.cluster('NODES')) as string;
    expect(masters.split('\n').filter((l) => l.includes('master')).length).toBe(3);
    const slots = await Promise.all(
      CAMS.map((c) => admin.cluster('KEYSLOT', leaseKey(PREFIX, c)) as Promise<number>),
    );
    const [ranges] = [(await admin.cluster('SHARDS')) as unknown[]];
    expect(ranges.length).toBe(3);
    // Slots 0..16383 are split in three; the 30 leases fall in more than one third.
    expect(new Set(slots.map((s) => Math.floor((s * 3) / 16384))).size).toBeGreaterThan(1);
    // Why a tick does not use one pipeline: the client refuses one across masters.
    const master = (slot: number) => admin.slots[slot]?.[0];
    const a = leaseKey(PREFIX, CAMS[0]!);
    const b = leaseKey(PREFIX, CAMS[slots.findIndex((s) => master(s) !== master(slots[0]!))]!);
    await expect(admin.pipeline().get(a).get(b).exec()).rejects.toThrow(/slot|node/i);
  });

  it('shares the cameras by lease, one owner each, hands over on leave and bumps the fencing epoch', async () => {
    const [a, b, c] = [node('rc-a'), node('rc-b'), node('rc-c')];
    await Promise.all([a.start(), b.start(), c.start()]);
    await waitFor(
      'every camera owned once',
      async () => {
        const o = await owners();
        return (
          CAMS.every((cam) => o.get(cam) !== null) && a.owned().size + b.owned().size + c.owned().size === 30
        );
      },
      10_000,
    );
    const before = await owners();
    for (const n of [a, b, c]) for (const cam of n.owned()) expect(before.get(cam)).toBe(n.nodeId);
    expect(a.owned().size && b.owned().size && c.owned().size).toBeTruthy();
    const cOwned = [...c.owned()];
    const epochs = await Promise.all(cOwned.map((cam) => admin.get(fenceEpochKey(PREFIX, cam))));
    await c.close();
    await waitFor(
      'the leaver’s cameras taken by the others',
      async () => {
        const o = await owners();
        return cOwned.every((cam) => ['rc-a', 'rc-b'].includes(o.get(cam) ?? ''));
      },
      5_000,
    );
    const after = await Promise.all(cOwned.map((cam) => admin.get(fenceEpochKey(PREFIX, cam))));
    after.forEach((e, i) => expect(Number(e)).toBeGreaterThan(Number(epochs[i])));
    expect(a.owned().size + b.owned().size).toBe(30);
    expect(
      a
        .view()
        .nodes.map((n) => n.id)
        .sort(),
    ).toEqual(['rc-a', 'rc-b']);
  });

  it('keeps evidence in the cluster: streamed put (temp key and RENAME in one slot), get, list', async () => {
    const store = createRedisBlobStore({
      redisUrl: 'redis://unused',
      prefix: 'gw:evidence',
      ttlMs: 60_000,
      chunkBytes: 1024,
      connect: () => rc.client(),
    });
    const keys = Array.from({ length: 6 }, (_, i) => `2026-12-01/cam-${i}.jpg`);
    for (const [i, k] of keys.entries())
      await store.put(k, Readable.from([Buffer.alloc(1500, i), Buffer.alloc(1500, i + 1)]));
    for (const [i, k] of keys.entries())
      expect(await buffer(await store.get(k))).toEqual(
        Buffer.concat([Buffer.alloc(1500, i), Buffer.alloc(1500, i + 1)]),
      );
    const listed: string[] = [];
    for await (const b of store.list('2026-12-01/')) listed.push(b.key);
    expect(listed).toEqual(keys);
    await store.close();
  });
});
