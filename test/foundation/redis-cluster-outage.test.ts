/**
 * A Redis Cluster client built from openRedis's `cluster` target (core/redis/redis-client.ts),
 * against a real one-node cluster (`--cluster-enabled yes`, every slot on the node), when every
 * node is down: a command must fail with an error the boundaries map to 503
 * GW_REDIS_UNAVAILABLE instead of waiting forever in the Cluster client's offline queue, a
 * blocking reader's command must wait instead, and the same clients must be back by themselves
 * once the node is (core/redis/cluster-retry-strategy.ts).
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { openRedis, type RedisConnection } from '../../core/redis/redis-connection.js';
import { createRedisClient, type RedisClient } from '../../core/redis/redis-client.js';
import { boundaryError } from '../../core/redis/redis-unavailable.js';
import { spawnRedisServer, type RedisProcess } from '../helpers/redis.js';
import { expectBack, settle } from '../helpers/settle.js';

const logger = createLogger({ pretty: false, level: 'silent' });
let dir: string;
let node: RedisProcess;
let conn: RedisConnection;
const children: ChildProcess[] = [];
const clients: RedisClient[] = [];

/** A cluster node; brought back on `port` it reads the nodes file it left (it owns every slot). */
async function startNode(port?: number): Promise<RedisProcess> {
  const r = await spawnRedisServer(
    (p) => [
      '--port',
      String(p),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      // A lone node never learns its address from a peer; without this CLUSTER SLOTS names none.
      '--cluster-announce-ip',
      '127.0.0.1',
      '--cluster-config-file',
      join(dir, `nodes-${p}.conf`),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    port === undefined ? {} : { port },
  );
  children.push(r.child);
  return r;
}

async function clusterOk(port: number): Promise<void> {
  const admin = new Redis({ host: '127.0.0.1', port });
  try {
    const deadline = Date.now() + 10_000;
    while (!String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
      if (Date.now() > deadline) throw new Error(`cluster on :${port} not ok in 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    admin.disconnect();
  }
}

function client(extra: { maxRetriesPerRequest?: number | null } = {}): RedisClient {
  const c = createRedisClient({ url: conn.url, options: conn.options, cluster: conn.cluster!, extra });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-cluster-outage-'));
  node = await startNode();
  const admin = new Redis({ host: '127.0.0.1', port: node.port });
  await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  admin.disconnect();
  await clusterOk(node.port);
  conn = await openRedis({
    config: { cluster: { nodes: [{ host: '127.0.0.1', port: node.port }] } },
    dataDir: dir,
    baseDir: dir,
    logger,
  });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const c of children) c.kill('SIGKILL');
  await conn?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a Redis Cluster with every node down', () => {
  it('fails commands while the node is killed, and the same client is back when it is restarted', async () => {
    const c = client();
    const blocking = client({ maxRetriesPerRequest: null });
    await c.set('gw:k', 'v');
    await expectBack(c, 'start', 'cluster client');
    await expectBack(blocking, 'start', 'cluster client');

    const exited = once(node.child, 'exit');
    node.child.kill('SIGKILL');
    await exited;
    const r = await settle(c.get('gw:k'), 5_000);
    if (r.state === 'pending')
      throw new Error(`GET still pending 5 s after the only node was killed (status ${c.status})`);
    expect(r.state).toBe('rejected');
    if (r.state === 'rejected') expect(boundaryError(r.err).code).toBe(Codes.GW_REDIS_UNAVAILABLE);
    // A client started during the outage fails the same way.
    const fresh = await settle(client().get('gw:k'), 5_000);
    expect(fresh.state, 'GET from a client started with every node down').toBe('rejected');
    // A blocking reader's command waits for the node instead (BullMQ's workers).
    const popped = blocking.blpop('gw:list', 0);

    node = await startNode(node.port);
    await clusterOk(node.port);
    // The node kept no data (no persistence): write the key again through a direct connection.
    const direct = new Redis({ host: '127.0.0.1', port: node.port });
    try {
      await direct.set('gw:k', 'v');
      await expectBack(c, 'the node was restarted', 'cluster client');
      await direct.rpush('gw:list', 'job');
      expect(await settle(popped, 10_000)).toEqual({ state: 'fulfilled', value: ['gw:list', 'job'] });
    } finally {
      direct.disconnect();
    }
  });
});
