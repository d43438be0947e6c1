/**
 * A client built from a Sentinel group's connection options (as BullMQ, the socket adapter and
 * the dispatcher build theirs), a real master and a real Sentinel, when no Sentinel can name the
 * master: killed (SIGKILL, connections refused) or hung (SIGSTOP, connections accepted and never
 * answered). A command must then fail with an error the boundaries map to 503
 * GW_REDIS_UNAVAILABLE instead of waiting forever in ioredis's offline queue, and the same client
 * must be back by itself once the Sentinel is (core/redis/sentinel-connector.ts). The last test
 * shows the same at the HTTP boundary of a gateway (wall + dispatch) built on the group.
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type Gateway } from '../../app/build-gateway.js';
import { Codes } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { openRedis, type RedisConnection } from '../../core/redis/redis-connection.js';
import { boundaryError } from '../../core/redis/redis-unavailable.js';
import { makeConfigDir } from '../config/fixtures.js';
import { spawnRedisServer, type RedisProcess } from '../helpers/redis.js';
import { expectBack, settle } from '../helpers/settle.js';

const logger = createLogger({ pretty: false, level: 'silent' });
let dir: string;
let masterPort: number;
let direct: Redis;
let conn: RedisConnection;
const children: ChildProcess[] = [];
const clients: Redis[] = [];

async function startSentinel(port?: number): Promise<RedisProcess> {
  const s = await spawnRedisServer(
    async (p) => {
      const conf = join(dir, `sentinel-${p}.conf`);
      // Written once: a Sentinel brought back on the same port reads the file it left.
      if (port === undefined)
        await writeFile(
          conf,
          `port ${p}\nbind 127.0.0.1\nsentinel monitor gwmaster 127.0.0.1 ${masterPort} 1\n`,
        );
      return [conf, '--sentinel'];
    },
    port === undefined ? {} : { port },
  );
  children.push(s.child);
  return s;
}

function client(extra: { maxRetriesPerRequest?: number | null } = {}): Redis {
  const c = new Redis(conn.url, { ...conn.options, ...extra });
  c.on('error', () => undefined); // the outage is the point; the gateway logs these once
  clients.push(c);
  return c;
}

/** Drops every client connection on the master, so the clients must ask a Sentinel again. */
async function dropClients(...cs: Redis[]): Promise<void> {
  const closed = cs.map((c) => once(c, 'close'));
  await direct.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  await Promise.all(closed);
}

async function expectUnavailable(c: Redis, why: string): Promise<void> {
  const r = await settle(c.get('gw:k'), 5_000);
  if (r.state === 'pending')
    throw new Error(
      `GET still pending 5 s after ${why} (status ${c.status}): the client hangs instead of failing`,
    );
  expect(r.state, `GET after ${why}`).toBe('rejected');
  if (r.state === 'rejected') expect(boundaryError(r.err).code).toBe(Codes.GW_REDIS_UNAVAILABLE);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-sentinel-'));
  const master = await spawnRedisServer((p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '']);
  children.push(master.child);
  masterPort = master.port;
  direct = new Redis({ host: '127.0.0.1', port: masterPort });
  await direct.set('gw:k', 'v');
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  direct?.disconnect();
  for (const c of children) c.kill('SIGKILL');
  await conn?.close();
  await rm(dir, { recursive: true, force: true });
});

let sentinel: RedisProcess;

describe('a Sentinel group with no Sentinel that can name the master', () => {
  beforeAll(async () => {
    sentinel = await startSentinel();
    conn = await openRedis({
      config: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'gwmaster' },
      dataDir: dir,
      baseDir: dir,
      logger,
    });
  });

  it('sends a command queued while the master connection is re-established (Sentinel up)', async () => {
    const c = client();
    await expectBack(c, 'start');
    await dropClients(c);
    // Issued while reconnecting: must wait for the reconnect through the Sentinel, not fail.
    const r = await settle(c.get('gw:k'), 5_000);
    expect(r).toEqual({ state: 'fulfilled', value: 'v' });
  });

  it('fails commands while the Sentinel is killed, and the same client is back when it is restarted', async () => {
    const c = client();
    // A blocking reader as BullMQ's workers open theirs: no retry limit, so it waits instead.
    const blocking = client({ maxRetriesPerRequest: null });
    await expectBack(c, 'start');
    await expectBack(blocking, 'start');

    const exited = once(sentinel.child, 'exit');
    sentinel.child.kill('SIGKILL');
    await exited;
    await dropClients(c, blocking);
    await expectUnavailable(c, 'the Sentinel was killed');
    // A fresh client (a gateway started during the outage) fails the same way.
    await expectUnavailable(client(), 'starting with the Sentinel down');
    const popped = blocking.blpop('gw:list', 0);

    sentinel = await startSentinel(sentinel.port);
    await expectBack(c, 'the Sentinel was restarted');
    // The blocking read queued during the outage is sent once connected, and a wait longer
    // than any Sentinel timeout is not cut short (no commandTimeout on the data connection).
    await new Promise((r) => setTimeout(r, 1_500));
    await direct.rpush('gw:list', 'job');
    const r = await settle(popped, 10_000);
    expect(r).toEqual({ state: 'fulfilled', value: ['gw:list', 'job'] });
  });

  it('fails commands while the Sentinel hangs (SIGSTOP), and is back when it resumes', async () => {
    // Independent of the test above: a Sentinel it left dead is brought back first.
    if (sentinel.child.exitCode !== null || sentinel.child.signalCode !== null)
      sentinel = await startSentinel(sentinel.port);
    const c = client();
    await expectBack(c, 'start');
    sentinel.child.kill('SIGSTOP');
    try {
      await dropClients(c);
      await expectUnavailable(c, 'the Sentinel was stopped');
    } finally {
      sentinel.child.kill('SIGCONT');
    }
    await expectBack(c, 'the Sentinel resumed');
  });
});

// The admin of test/foundation/gateway-redis-kill.test.ts (password gridwatch-admin).
const ADMIN =
  "  - { username: admin, displayName: 管理员, role: admin, scope: '4412', passwordHash: 'scrypt$16384$8$1$gBjreYQnbRD0Wx__pa13Fg$Hu1ezgtO_5-aAY0FufuGe9L_rHCXqgBAEBGg0fOEDJQlFOdusD1JhxLQTv9-7PmyNt7aahx5SS6rDqtU0cC4uA' }\n";

describe('the gateway on a Sentinel group', () => {
  let cfg: Awaited<ReturnType<typeof makeConfigDir>>;
  let gw: Gateway;
  let token = '';

  /** One API call, bounded: a hung request fails with a message instead of the test timeout. */
  async function alerts(why: string): Promise<{ status: number; code?: string }> {
    try {
      const r = await fetch(`${gw.url!}/api/v1/alerts`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5_000),
      });
      return { status: r.status, ...((await r.json()) as { code?: string }) };
    } catch (err) {
      throw new Error(`GET /api/v1/alerts ${why}: no answer in 5 s (${String(err)})`);
    }
  }

  beforeAll(async () => {
    if (sentinel.child.exitCode !== null || sentinel.child.signalCode !== null)
      sentinel = await startSentinel(sentinel.port);
    cfg = await makeConfigDir({
      gateway: [
        'http: { host: 127.0.0.1, port: 0 }',
        'dataDir: ./var',
        'cameras: { dirs: [./cameras] }',
        'grids: { file: ./grids/city.geojson }',
        `redis: { sentinels: [{ host: 127.0.0.1, port: ${sentinel.port} }], name: gwmaster }`,
        'users:',
        ADMIN,
      ].join('\n'),
    });
    gw = await buildGateway({ config: cfg.gatewayFile, roles: ['wall', 'dispatch'], logger });
    const r = await fetch(`${gw.url!}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'gridwatch-admin' }),
    });
    expect(r.status).toBe(200);
    token = ((await r.json()) as { token: string }).token;
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
    await cfg?.cleanup();
  });

  it('answers 503 GW_REDIS_UNAVAILABLE while the Sentinel is killed, and 200 again once it is back', async () => {
    expect((await alerts('at start')).status).toBe(200);
    const exited = once(sentinel.child, 'exit');
    sentinel.child.kill('SIGKILL');
    await exited;
    await direct.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    // The first request may still be answered by a connection not yet closed: ask until refused.
    let down: { status: number; code?: string } | undefined;
    for (let i = 0; i < 20 && (down = await alerts('with the Sentinel down')).status === 200; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(down).toEqual(expect.objectContaining({ status: 503, code: Codes.GW_REDIS_UNAVAILABLE }));

    sentinel = await startSentinel(sentinel.port);
    let back = down;
    for (let i = 0; i < 100 && (back = await alerts('after the Sentinel restarted')).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(back?.status, 'API after the Sentinel restarted').toBe(200);
  });
});
