/**
 * The composition's cluster helper (app/cluster-wiring.ts) on a real Redis: ingest gets only
 * owned cameras, findings carry the lease token, and a finding finished after a handover keeps
 * the old token, so the fencing check drops it once the new owner has claimed.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fenceEpochKey, isStale } from '../../core/contracts/fence.js';
import type { Finding } from '../../core/contracts/finding.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { createClusterWiring, type ClusterWiring } from '../../app/cluster-wiring.js';
import { ClusterConfigSchema } from '../../features/cluster/cluster-config.js';
import { startTestRedis } from '../helpers/redis.js';
import { cameraIds, waitFor } from './support.js';

let redis: Awaited<ReturnType<typeof startTestRedis>>;
let r: Redis;
const wirings: ClusterWiring[] = [];
const CAMS = cameraIds(20).map((id) => ({ id }) as LoadedCamera);
const config = ClusterConfigSchema.parse({
  enabled: true,
  prefix: 'w:cluster',
  heartbeatMs: 100,
  nodeTtlMs: 500,
  leaseTtlMs: 500,
});

beforeAll(async () => {
  redis = await startTestRedis();
  r = new Redis(redis.url);
});
afterAll(async () => {
  for (const w of wirings) await w.cluster.close();
  r.disconnect();
  await redis.close();
});

const wiring = (nodeId: string) => {
  const w = createClusterWiring({
    config: { ...config, nodeId },
    redisUrl: redis.url,
    redisOptions: {},
    logger: pino({ level: 'silent' }),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
  });
  w.cluster.update(CAMS.map((c) => c.id));
  wirings.push(w);
  return w;
};
const finding = (cameraId: string) => ({ id: `${cameraId}:t:1234567`, cameraId }) as Finding;

describe('cluster wiring of the composition', () => {
  it('filters cameras to the owned ones and fences findings across a handover', async () => {
    const a = wiring('node-a');
    const applied: string[][] = [];
    a.onChange(() => applied.push(a.owned(CAMS).map((c) => c.id)));
    const sent: Finding[] = [];
    const sink = a.fenced({ submit: async (f) => void sent.push(f) });
    await a.cluster.start();
    await waitFor('node-a owns all', () => a.owned(CAMS).length === CAMS.length);
    expect(applied.at(-1)).toEqual(CAMS.map((c) => c.id));

    await sink.submit(finding('cam-0003'));
    expect(sent[0]!.fence).toEqual({ token: 1, nodeId: 'node-a' });

    const b = wiring('node-b');
    await b.cluster.start();
    await waitFor(
      'node-b took its share',
      () => b.owned(CAMS).length > 0 && a.owned(CAMS).length + b.owned(CAMS).length === CAMS.length,
    );
    const moved = b.owned(CAMS)[0]!.id;
    expect(applied.at(-1)).not.toContain(moved);
    // A finding node-a finishes for a camera it handed over still carries node-a's token...
    await sink.submit(finding(moved));
    const late = sent.at(-1)!;
    expect(late.fence).toEqual({ token: 1, nodeId: 'node-a' });
    // ...which is older than the camera's current epoch: the dispatcher's check drops it.
    const current = Number(await r.get(fenceEpochKey(config.prefix, moved)));
    expect(current).toBe(2);
    expect(isStale(late, current)).toBe(true);
  });
});
