/**
 * Cluster benchmark (`npm run bench:cluster`): 2,000 cameras over 4 node processes on one real
 * redis-server, ownership only (the cameras are ids: no video), default timings of the cluster
 * config (heartbeat 1 s, node and lease ttl 4 s). Records placement balance, failover time
 * (SIGKILL → every camera leased by a live node again) over several kills, cameras moved when
 * a fifth node joins, Redis commands/s and memory at steady state, and node CPU.
 * Nodes are test/cluster/node-main.ts (the cluster feature alone, as in the cluster test).
 * Part 2 (bench/lib/cluster-sampling.ts): real gateway processes sampling snapshot cameras.
 * Env BENCH_CLUSTER_PART = 1 | 2 | all (default all); part 2's own env is in its file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { leaseKey } from '../core/contracts/fence.js';
import { startEmbeddedRedis } from '../core/redis/embedded-redis.js';
import { balance, placeCameras } from '../features/cluster/placement.js';
import { recordResults } from './lib/record.js';
import { part2 } from './lib/cluster-sampling.js';

const N_CAMS = 2000;
const PREFIX = 'bench:cluster';
const KILLS = 5;
const CAMS = Array.from({ length: N_CAMS }, (_, i) => `cam-${String(i).padStart(4, '0')}`);
const ENTRY = resolve(import.meta.dirname, '../test/cluster/node-main.ts');
const CLK_TCK = 100; // USER_HZ on Linux

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

/** utime + stime of a process in seconds, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

async function part1(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'gw-bench-cluster-'));
  const redisServer = await startEmbeddedRedis({ dir, logger: pino({ level: 'silent' }) });
  const r = new Redis(redisServer.url);
  const procs = new Map<string, ChildProcess>();
  const spawnNode = (id: string) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        GW_REDIS_URL: redisServer.url,
        GW_NODE_ID: id,
        GW_CAMERAS: String(N_CAMS),
        GW_PREFIX: PREFIX,
      },
    });
    procs.set(id, child);
    return child;
  };
  const owners = async (): Promise<(string | null)[]> => {
    const pipe = r.pipeline();
    for (const c of CAMS) pipe.get(leaseKey(PREFIX, c));
    const res = (await pipe.exec()) ?? [];
    return res.map(([, v]) => (typeof v === 'string' ? v.split('/')[0]! : null));
  };
  /** Polls until every camera is leased by exactly the placement over `ids`; returns ms. */
  const settle = async (ids: string[], from: number, timeoutMs = 60_000) => {
    const want = placeCameras(
      CAMS,
      ids.map((id) => ({ id, capacity: 10_000 })),
    );
    for (;;) {
      const o = await owners();
      if (CAMS.every((c, i) => o[i] === want.get(c))) return Date.now() - from;
      if (Date.now() - from > timeoutMs) throw new Error(`no settle on ${ids.join(',')} in ${timeoutMs} ms`);
      await sleep(50);
    }
  };
  const info = async (section: string) =>
    Object.fromEntries(
      (await r.info(section))
        .split('\r\n')
        .filter((l) => l.includes(':'))
        .map((l) => l.split(':') as [string, string]),
    );

  try {
    const memBefore = Number((await info('memory')).used_memory);
    const ids = ['node-1', 'node-2', 'node-3', 'node-4'];

    // Pure placement figures.
    const p4 = placeCameras(
      CAMS,
      ids.map((id) => ({ id, capacity: 10_000 })),
    );
    const b4 = balance(p4, ids);
    const p5 = placeCameras(
      CAMS,
      [...ids, 'node-5'].map((id) => ({ id, capacity: 10_000 })),
    );
    const movedPure = CAMS.filter((c) => p4.get(c) !== p5.get(c)).length;

    // Cold start of 4 processes.
    const t0 = Date.now();
    for (const id of ids) spawnNode(id);
    const coldMs = await settle(ids, t0);

    // Steady state: Redis commands/s and memory, node CPU, over 15 s.
    await sleep(2000);
    const WINDOW = 15_000;
    const evalsha = async () =>
      Number(/calls=(\d+)/.exec((await info('commandstats')).cmdstat_evalsha ?? '')?.[1] ?? 0);
    const c0 = Number((await info('stats')).total_commands_processed);
    const e0 = await evalsha();
    const cpu0 = ids.map((id) => cpuSeconds(procs.get(id)!.pid!));
    const w0 = Date.now();
    await sleep(WINDOW);
    const c1 = Number((await info('stats')).total_commands_processed);
    const e1 = await evalsha();
    const cpu1 = ids.map((id) => cpuSeconds(procs.get(id)!.pid!));
    const wallS = (Date.now() - w0) / 1000;
    // Two INFO calls of this process are in the count; negligible next to thousands per second.
    const cmdsPerSec = (c1 - c0) / wallS;
    const scriptsPerSec = (e1 - e0) / wallS;
    const mem = await info('memory');
    const memUsed = Number(mem.used_memory);
    const nodeCpuPct = cpu1.map((c, i) => (100 * (c - cpu0[i]!)) / wallS);
    const live = b4.perNode;

    // Failover: kill each node in turn (SIGKILL, no release), measure until every camera is
    // leased by the survivors' placement, restart it, wait for its share to return.
    const failover: number[] = [];
    const handback: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const victim = ids[k % ids.length]!;
      const p = procs.get(victim)!;
      const killedAt = Date.now();
      p.kill('SIGKILL');
      await new Promise((res) => p.once('exit', res));
      failover.push(
        await settle(
          ids.filter((id) => id !== victim),
          killedAt,
        ),
      );
      const restartAt = Date.now();
      spawnNode(victim);
      handback.push(await settle(ids, restartAt));
    }

    // Join: a fifth node; count the leases whose owner changed.
    const before = await owners();
    const joinAt = Date.now();
    spawnNode('node-5');
    const joinMs = await settle([...ids, 'node-5'], joinAt);
    const after = await owners();
    const movedLive = before.filter((o, i) => o !== after[i]).length;
    const movedToNew = after.filter((o, i) => o !== before[i] && o === 'node-5').length;

    const md = `
Command: \`npm run bench:cluster\`. ${N_CAMS.toLocaleString('en')} cameras (ids only: ownership, no video) over 4 node
processes (\`test/cluster/node-main.ts\`: the cluster feature alone) on one redis-server (7.0, AOF) on loopback.
Cluster config defaults: heartbeat 1 s, node ttl 4 s, lease ttl 4 s. Load average (1 min) ${loadBefore.toFixed(1)} at
start, ${loadavg()[0]!.toFixed(1)} at end, on ${cpus().length} cores (shared machine).

| Measure | Value | Target |
|---|---|---|
| Placement balance, 4 equal nodes (max/mean) | ${b4.maxOverMean.toFixed(3)} (${Object.values(live).join(' / ')}) | ≤ 1.2 |
| Cameras moved when a 5th node joins, placement | ${movedPure} of ${N_CAMS} = ${((movedPure / N_CAMS) * 5).toFixed(2)}/N | ≈ 1/N, ≤ 1.5/N |
| Cameras moved when a 5th node joins, live leases | ${movedLive} (${movedToNew} of them to the new node); settled in ${(joinMs / 1000).toFixed(1)} s | all to the new node |
| Cold start, 4 processes → every camera leased as placed | ${(coldMs / 1000).toFixed(1)} s (includes tsx start-up) | |
| Failover, SIGKILL → every camera leased by survivors, ${KILLS} kills | p50 ${(pct(failover, 0.5) / 1000).toFixed(1)} s, max ${(Math.max(...failover) / 1000).toFixed(1)} s (runs: ${failover.map((f) => (f / 1000).toFixed(1)).join(', ')} s) | ≤ 10 s |
| Restarted node gets its share back | p50 ${(pct(handback, 0.5) / 1000).toFixed(1)} s, max ${(Math.max(...handback) / 1000).toFixed(1)} s (includes tsx start-up) | |
| Redis commands/s at steady state (INFO total_commands_processed over ${wallS.toFixed(0)} s) | ${cmdsPerSec.toFixed(0)}, of which ${scriptsPerSec.toFixed(0)} EVALSHA calls (the rest are the GET and PEXPIRE each renewal script runs, which Redis counts too) | |
| Redis memory (used_memory) | ${(memUsed / 2 ** 20).toFixed(2)} MiB, of which leases and registry ≈ ${((memUsed - memBefore) / 2 ** 20).toFixed(2)} MiB | |
| Node CPU (ownership only), per node | ${nodeCpuPct.map((c) => c.toFixed(1)).join(' / ')} % of one core | |

Failover is bounded by the timings, not by CPU: a killed node's heartbeat ages out after the node ttl
(4 s) and its leases lapse after the lease ttl (4 s, from their last renewal), then the survivors claim at
their next tick (≤ 1 s). Steady state costs each node one heartbeat script and one pipelined batch of
compare-and-renew scripts (one per owned camera, so each script touches one hash slot and runs on
Redis Cluster) per second: about ${N_CAMS.toLocaleString('en')} renewals/s for the cluster. A single script renewing all of a node's
cameras would be 4 calls/s but would need every lease in one slot; per-camera renewal was kept. Only ownership is measured here: the per-camera cost of sampling real
cameras is in the ingest section (one 2-core node ≈ 200 cameras at one sample per 10 s), so 2,000 real
cameras need about 10 such ingest+detect nodes, plus headroom for one failure (capacity bounds what a
survivor takes; what fits nowhere stays unowned and is reported).
`;
    recordResults('cluster', 'Cluster: camera ownership by lease (bench/cluster.ts)', md);
    process.stdout.write(md);
  } finally {
    for (const p of procs.values()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        await new Promise((res) => p.once('exit', res));
      }
    }
    r.disconnect();
    await redisServer.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const PART = process.env.BENCH_CLUSTER_PART ?? 'all';
if (PART === 'all' || PART === '1') await part1();
if (PART === 'all' || PART === '2') await part2();
