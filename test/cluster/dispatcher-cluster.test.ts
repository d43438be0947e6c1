/**
 * Issue 11 item 4 for the dispatcher path: gateway.yaml's `redis.cluster`, opened by openRedis,
 * runs the dispatcher on a real 3-master Redis Cluster (redis-cluster-fixture.ts): a finding
 * goes through the BullMQ queue and worker, the commit script writes the alert, the alert query
 * reads it, the relay's stream reader sees the change, and a duplicate finding merges. Every
 * dispatcher key and queue key is under the prefix as one hash tag (`{gwrc}`); the commit
 * script declares the alert key, so Redis Cluster routes it to that slot's master.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../../app/build-gateway.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { ConfigError } from '../../core/errors.js';
import { loadGridFile } from '../../core/grid/grid-index.js';
import { RedisConfigSchema } from '../../core/redis/redis-config.js';
import { openRedis, type RedisConnection } from '../../core/redis/redis-connection.js';
import { createDispatcher, type Dispatcher } from '../../features/dispatcher/dispatcher.js';
import { clusterPrefix, redisKeys } from '../../features/dispatcher/redis-keys.js';
import {
  actors,
  finding,
  GRID,
  recordingNotifier,
  testDispatcherOptions,
  waitFor,
  writeGridFile,
} from '../dispatcher/fixtures.js';
import { startRedisCluster, type TestRedisCluster } from './redis-cluster-fixture.js';

const logger = pino({ level: process.env.GW_TEST_LOG ?? 'silent' });
let rc: TestRedisCluster;
let admin: Cluster;
let conn: RedisConnection;
let dir: string;
let grids: GridIndex;
let d: Dispatcher | undefined;

beforeAll(async () => {
  rc = await startRedisCluster();
  admin = rc.client();
  await admin.connect();
  dir = await mkdtemp(join(tmpdir(), 'gw-dcluster-'));
  grids = (await loadGridFile(await writeGridFile(dir))).index;
  // Through the config schema and openRedis, as gateway.yaml's `redis: { cluster: … }` goes.
  conn = await openRedis({
    config: RedisConfigSchema.parse({ cluster: { nodes: [{ host: '127.0.0.1', port: rc.ports[0] }] } }),
    dataDir: dir,
    baseDir: dir,
    logger,
  });
}, 60_000);
afterAll(async () => {
  await d?.close();
  await conn?.close();
  admin?.disconnect();
  await rc?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const slot = (key: string) => admin.cluster('KEYSLOT', key) as Promise<number>;

describe('the dispatcher on a 3-master Redis Cluster', () => {
  it('why the commit script declares a key: an undeclared key is refused on the masters that do not own its slot', async () => {
    const key = redisKeys(clusterPrefix('gwrc')).alert('A1');
    const masters = admin.nodes('master');
    expect(masters).toHaveLength(3);
    const replies = await Promise.allSettled(
      masters.map((m) => m.eval("return redis.call('EXISTS', ARGV[1])", 0, key)),
    );
    // One master owns the slot and answers; the other two refuse the script.
    expect(replies.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(replies.filter((r) => r.status === 'rejected')).toHaveLength(2);
    for (const r of replies)
      if (r.status === 'rejected') expect(String(r.reason)).toMatch(/non local key|MOVED|cluster/i);
  });

  it('a finding goes through the queue and worker to an alert the query reads; a duplicate merges', async () => {
    expect(conn.cluster?.nodes).toEqual([{ host: '127.0.0.1', port: rc.ports[0] }]);
    expect(conn.describe()).toBe(`cluster via 127.0.0.1:${rc.ports[0]}`);
    const notifier = recordingNotifier();
    d = createDispatcher({
      ...testDispatcherOptions({ redisUrl: conn.url, dir, grids, config: { prefix: 'gwrc' }, logger }),
      redisOptions: conn.options,
      ...(conn.cluster ? { redisCluster: conn.cluster } : {}),
      notifier,
      workers: true,
    });
    await d.start();
    const list = async () => (await d!.alerts.list({ scope: GRID.city, limit: 50 })).items;

    const f = finding();
    // Delivered twice at once: BullMQ's job id and the seen key make it one alert.
    await Promise.all([d.sink.submit(f), d.sink.submit(f)]);
    const [a] = await waitFor('alert', async () => {
      const l = await list();
      return l.length === 1 ? l : null;
    });
    expect(a!.cameraId).toBe('cam-a');
    expect(a!.count).toBe(1);
    // A later finding for the same vehicle merges into it.
    await d.sink.submit({
      ...f,
      id: `${f.id}:again`,
      lastSeen: f.lastSeen + 5_000,
      evidence: { first: f.evidence.first, latest: '2026-11-27/cam-a_3.jpg' },
    });
    const [merged] = await waitFor('merge', async () => {
      const l = await list();
      return l.length === 1 && l[0]!.count === 2 ? l : null;
    });
    expect(merged!.id).toBe(a!.id);
    expect(merged!.evidence.latest).toBe('2026-11-27/cam-a_3.jpg');
    // The relay's stream reader (XREADGROUP on the cluster) saw the new alert and its update.
    await waitFor('relayed', async () => notifier.events.length >= 2);
    expect(notifier.events.map((e) => e.kind)).toEqual(['new', 'update']);
    // An operator action goes through the same commit script.
    const confirmed = await d.alerts.act(a!.id, { action: 'confirm', note: '核实属实' }, actors.zhang);
    expect(confirmed.state).toBe('confirmed');
    const audit = await d.alerts.audit(a!.id, actors.zhang);
    expect(audit.at(-1)).toMatchObject({ actor: 'zhangsan', to: 'confirmed', note: '核实属实' });

    const counts = await d.queues.findings.getJobCounts('completed', 'failed');
    // The sink may put the two copies into one job (group commit): 2 or 3 jobs, none failed.
    expect(counts.failed).toBe(0);
    expect(counts.completed).toBeGreaterThanOrEqual(2);
    // Every key is in the one slot of `{gwrc}`: the alert, its indexes, the stream, the queue.
    const k = redisKeys('{gwrc}');
    expect(await admin.exists(k.alert(a!.id), k.byTime, k.events)).toBe(3);
    const queueKey = `{gwrc}:findings:meta`;
    expect(await admin.exists(queueKey)).toBe(1);
    const slots = await Promise.all(
      [k.alert(a!.id), k.audit(a!.id), k.byTime, k.byCamera('cam-a'), k.events, k.seq, queueKey].map(slot),
    );
    expect(new Set(slots).size).toBe(1);
  });

  it('buildGateway: a dispatch process starts on redis.cluster; any other role is refused, naming the file', async () => {
    const gdir = join(dir, 'gw');
    await mkdir(join(gdir, 'cameras'), { recursive: true });
    const file = join(gdir, 'gateway.yaml');
    await writeFile(
      file,
      `http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ncameras: { dirs: [./cameras] }\n` +
        `grids: { file: ${JSON.stringify(await writeGridFile(gdir))} }\n` +
        `redis: { cluster: { nodes: [{ host: 127.0.0.1, port: ${rc.ports[1]} }] } }\ndispatcher: { prefix: gwbg }\n`,
    );
    const refused = await buildGateway({ config: file, roles: ['wall', 'dispatch'], logger }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(
      /gateway\.yaml: redis\.cluster runs the dispatch role only .*dispatch\+wall/,
    );
    const gw = await buildGateway({ config: file, roles: ['dispatch'], schedulers: false, logger });
    try {
      // Its BullMQ queues are on the cluster, under the hash tag.
      await waitFor('queue meta', async () => (await admin.exists('{gwbg}:findings:meta')) === 1);
    } finally {
      await gw.close();
    }
  });
});
