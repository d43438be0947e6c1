/**
 * Leases against a real redis-server, several cluster nodes in this process (one event loop,
 * so "two owners at once" is observable exactly): handover on join and leave, fencing tokens,
 * compare-and-renew, self-fencing while Redis does not answer.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fenceEpochKey, leaseKey } from '../../core/contracts/fence.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { createCluster, type Cluster } from '../../features/cluster/cluster.js';
import { ClusterConfigSchema } from '../../features/cluster/cluster-config.js';
import { placeCameras } from '../../features/cluster/placement.js';
import { startTestRedis } from '../helpers/redis.js';
import { cameraIds, leaseOwners, waitFor } from './support.js';

const logger = pino({ level: 'silent' });
let redis: Awaited<ReturnType<typeof startTestRedis>>;
let r: Redis;
let nodes: Cluster[] = [];
let prefixN = 0;
let prefix = '';
const CAMS = cameraIds(60);
/** Every "two nodes own one camera" moment seen by any listener. */
let doubles: string[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  r = new Redis(redis.url);
});
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
});
afterAll(async () => {
  r.disconnect();
  await redis.close();
});

function node(id: string, capacity = 1000): Cluster {
  const config = ClusterConfigSchema.parse({
    enabled: true,
    prefix,
    heartbeatMs: 100,
    nodeTtlMs: 500,
    leaseTtlMs: 500,
  });
  const c = createCluster({
    config,
    redisUrl: redis.url,
    logger,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    nodeId: id,
    capacity,
  });
  c.update(CAMS);
  c.onChange((_owned, change) => {
    for (const cam of change.added)
      for (const other of nodes)
        if (other !== c && other.owned().has(cam)) doubles.push(`${cam} ${id}+${other.nodeId}`);
  });
  nodes.push(c);
  return c;
}

const settled = (expected: Map<string, string | null>) => async () => {
  const owners = await leaseOwners(r, prefix, CAMS);
  for (const c of CAMS) {
    const want = expected.get(c) ?? null;
    if (owners.get(c) !== want) return false;
    for (const n of nodes) if (n.owned().has(c) !== (n.nodeId === want)) return false;
  }
  return true;
};
const expect3 = (ids: string[]) =>
  placeCameras(
    CAMS,
    ids.map((id) => ({ id, capacity: 1000 })),
  );
const tokens = async () => {
  const res = (await r.mget(...CAMS.map((c) => fenceEpochKey(prefix, c)))).map((v) => Number(v ?? 0));
  return new Map(CAMS.map((c, i) => [c, res[i]!]));
};

describe('camera leases on a real Redis', () => {
  beforeAll(() => undefined);
  afterEach(() => {
    expect(doubles).toEqual([]);
  });
  const fresh = () => {
    prefix = `t${++prefixN}:cluster`;
    doubles = [];
  };

  it('places every camera on exactly one node, hands over on join and leave, and bumps the token per claim', async () => {
    fresh();
    const a = node('node-a');
    const b = node('node-b');
    await Promise.all([a.start(), b.start()]);
    await waitFor('two nodes settled', settled(expect3(['node-a', 'node-b'])));
    const t1 = await tokens();
    for (const c of CAMS) expect(t1.get(c)).toBe(1);
    for (const c of a.owned()) expect(a.token(c)).toBe(1);

    const c = node('node-c');
    await c.start();
    const three = expect3(['node-a', 'node-b', 'node-c']);
    await waitFor('node-c joined', settled(three));
    const t2 = await tokens();
    const before = expect3(['node-a', 'node-b']);
    let movedN = 0;
    for (const cam of CAMS) {
      const movedHere = before.get(cam) !== three.get(cam);
      if (movedHere) movedN++;
      expect(three.get(cam) === 'node-c').toBe(movedHere);
      expect(t2.get(cam)).toBe(movedHere ? 2 : 1);
      if (movedHere) expect(c.token(cam)).toBe(2);
    }
    expect(movedN).toBeGreaterThan(0);

    await b.close();
    nodes = nodes.filter((n) => n !== b);
    await waitFor('node-b left', settled(expect3(['node-a', 'node-c'])));
    expect(b.owned().size).toBe(0);
    expect(a.view().camerasPerNode['node-b']).toBeUndefined();
  });

  it('drops a camera whose lease another owner took (compare-and-renew)', async () => {
    fresh();
    const a = node('node-a');
    await a.start();
    await waitFor('node-a owns all', () => a.owned().size === CAMS.length);
    const lost: string[] = [];
    a.onChange((_o, ch) => lost.push(...ch.removed));
    await r.set(leaseKey(prefix, 'cam-0007'), 'intruder/0', 'PX', 60_000);
    await waitFor('cam-0007 dropped', () => lost.includes('cam-0007'));
    expect(a.owned().has('cam-0007')).toBe(false);
    expect(a.owned().size).toBe(CAMS.length - 1);
    expect(await r.get(leaseKey(prefix, 'cam-0007'))).toBe('intruder/0');
  });

  it('stops its cameras when Redis stops answering, and takes them back after', async () => {
    fresh();
    const a = node('node-a');
    await a.start();
    await waitFor('node-a owns all', () => a.owned().size === CAMS.length);
    const token = a.token('cam-0001');
    // Every write (renewals included) waits for 1.5 s, three lease lifetimes.
    await r.call('CLIENT', 'PAUSE', '1500', 'WRITE');
    await waitFor('cameras stopped while Redis is paused', () => a.owned().size === 0, 1400);
    await waitFor('cameras back after the pause', () => a.owned().size === CAMS.length);
    // The lease lapsed in Redis during the pause: the claim after it is a new epoch.
    expect(a.token('cam-0001')).toBeGreaterThan(token!);
  });

  it('reports the cluster view and its metrics', async () => {
    fresh();
    const m = createMetricsRegistry({ defaultMetrics: false });
    const config = ClusterConfigSchema.parse({
      enabled: true,
      prefix,
      heartbeatMs: 100,
      nodeTtlMs: 500,
      leaseTtlMs: 500,
    });
    const a = createCluster({
      config,
      redisUrl: redis.url,
      logger,
      metrics: m,
      nodeId: 'node-a',
      capacity: 40,
    });
    nodes.push(a);
    a.update(CAMS);
    await a.start();
    await waitFor('node-a owns its capacity', () => a.owned().size === 40);
    await waitFor('view reports it', () => a.view().unowned === 20);
    expect(a.view().nodes.map((n) => [n.id, n.capacity, n.owned])).toEqual([['node-a', 40, 40]]);
    const text = await waitFor('a renewal measured', async () => {
      const t = await m.metrics();
      return /gridwatch_cluster_lease_renew_seconds_count [1-9]/.test(t) && t;
    });
    expect(text).toMatch(/gridwatch_cluster_owned_cameras 40/);
    expect(text).toMatch(/gridwatch_cluster_lease_changes_total\{change="claimed"\} 40/);
  });
});
