/**
 * Three node processes on one real redis-server, default timings (heartbeat 1 s, ttl 4 s):
 * every camera has exactly one owner; a SIGKILLed node's cameras are owned by the survivors
 * within 10 s (the bound) while theirs stay put; restarted, it takes back only its share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fenceEpochKey } from '../../core/contracts/fence.js';
import { placeCameras } from '../../features/cluster/placement.js';
import { startTestRedis } from '../helpers/redis.js';
import { cameraIds, leaseOwners, waitFor } from './support.js';

const ENTRY = resolve(import.meta.dirname, 'node-main.ts');
const CAMS = cameraIds(300);
const PREFIX = 'ft:cluster';
const IDS = ['node-1', 'node-2', 'node-3'];

let redis: Awaited<ReturnType<typeof startTestRedis>>;
let r: Redis;
const procs = new Map<string, ChildProcess>();
const reported = new Map<string, Set<string>>();

function spawnNode(id: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      GW_REDIS_URL: redis.url,
      GW_NODE_ID: id,
      GW_CAMERAS: String(CAMS.length),
      GW_PREFIX: PREFIX,
    },
  });
  child.on('message', (m: { node: string; owned: string[] }) => reported.set(m.node, new Set(m.owned)));
  procs.set(id, child);
  return child;
}

/** Leases in Redis and what every running node reports both equal `expected`. */
const matches = (expected: Map<string, string | null>, running: string[]) => async () => {
  const owners = await leaseOwners(r, PREFIX, CAMS);
  for (const c of CAMS) if (owners.get(c) !== expected.get(c)) return false;
  for (const id of running) {
    const mine = reported.get(id);
    if (!mine) return false;
    const want = CAMS.filter((c) => expected.get(c) === id);
    if (mine.size !== want.length || want.some((c) => !mine.has(c))) return false;
  }
  return true;
};
const epochs = async (): Promise<number[]> =>
  (await r.mget(...CAMS.map((c) => fenceEpochKey(PREFIX, c)))).map((v) => Number(v ?? 0));
const place = (ids: string[]) =>
  placeCameras(
    CAMS,
    ids.map((id) => ({ id, capacity: 10_000 })),
  );

beforeAll(async () => {
  redis = await startTestRedis();
  r = new Redis(redis.url);
});
afterAll(async () => {
  for (const p of procs.values()) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await new Promise((res) => p.once('exit', res));
    }
  }
  r.disconnect();
  await redis.close();
});

describe('cluster of three node processes', () => {
  it('owns every camera once, fails over a killed node within 10 s, and hands its share back', async () => {
    for (const id of IDS) spawnNode(id);
    const all = place(IDS);
    await waitFor('three nodes own their shares', matches(all, IDS), 30_000);
    // Usually 1 each; a node whose process starts more than a heartbeat after the others (a
    // loaded machine) takes its share over from them, which is a second claim. Later claims
    // are counted from here.
    const e1 = await epochs();
    expect(e1.every((e) => e >= 1)).toBe(true);

    // Kill node-3 without any chance to release.
    const victim = procs.get('node-3')!;
    const share = CAMS.filter((c) => all.get(c) === 'node-3');
    expect(share.length).toBeGreaterThan(50);
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await new Promise((res) => victim.once('exit', res));
    reported.delete('node-3');
    const survivors = place(['node-1', 'node-2']);
    await waitFor(
      'survivors own the killed node’s cameras',
      matches(survivors, ['node-1', 'node-2']),
      10_000,
    );
    const failoverMs = Date.now() - killedAt;
    process.stdout.write(`failover of ${share.length} cameras: ${failoverMs} ms\n`);
    const e2 = await epochs();
    CAMS.forEach((c, i) => expect(e2[i]).toBe(e1[i]! + (share.includes(c) ? 1 : 0)));

    // Restart with the same node id: only its share comes back, handed over by the survivors.
    spawnNode('node-3');
    await waitFor('node-3 took back its share', matches(all, IDS), 30_000);
    const e3 = await epochs();
    CAMS.forEach((c, i) => expect(e3[i]).toBe(e1[i]! + (share.includes(c) ? 2 : 0)));
  });
});
