/**
 * The dispatcher on Redis Cluster vs one redis-server, same run (npx tsx bench/dispatch-cluster.ts).
 *
 * Every dispatcher key and BullMQ queue sits under one hash tag (`{gw}`), so one master carries
 * all of the dispatcher's Redis work. This measures what that costs: findings per second through
 * the sink, queue, worker and commit script on a 3-master cluster and on a single redis-server
 * (both without persistence), the CPU each master spent per finding (INFO cpu, load-independent),
 * and the memory per alert on the master that holds the slot.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Redis, type Cluster } from 'ioredis';
import { buildGateway } from '../app/build-gateway.js';
import type { Finding } from '../core/contracts/finding.js';
import { startEmbeddedRedis } from '../core/redis/embedded-redis.js';
import { GRID, writeGridFile } from '../test/dispatcher/fixtures.js';
import { startRedisCluster } from '../test/cluster/redis-cluster-fixture.js';
import { benchFinding } from './lib/bench-finding.js';
import { writeDispatchGateway } from './lib/dispatch-gateway-file.js';
import { recordResults } from './lib/record.js';

const N = Number(process.env.BENCH_DISPATCH_CLUSTER_N ?? 10_000);
const logger = pino({ level: 'warn' });

function mkFinding(i: number, run: string): Finding {
  // Two findings per place: the second merges into the first's alert.
  const site = Math.floor(i / 2);
  return benchFinding({ id: `bench-${run}-${i}`, site, track: `t${site}`, placeKey: `${run}-${site}` });
}

async function info(c: Redis): Promise<{ cpu: number; mem: number; keys: number }> {
  const text = await c.info();
  const num = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    cpu: num('used_cpu_user') + num('used_cpu_sys'),
    mem: num('used_memory'),
    keys: Number(/^db0:keys=(\d+)/m.exec(text)?.[1] ?? 0),
  };
}

async function runOnce(o: {
  run: string;
  redisUrl?: string;
  cluster?: Array<{ host: string; port: number }>;
  servers: Redis[];
  dir: string;
}): Promise<{
  rate: number;
  secs: number;
  nodeUs: number;
  us: number[];
  memPerAlert: number[];
  keys: number[];
  alerts: number;
}> {
  // A dispatch-role gateway as production builds it (app/build-gateway.ts): cameras, grids,
  // dispatcher settings and, for the cluster run, `redis.cluster` come through gateway.yaml;
  // the single-server run joins its redis-server as a worker process would (--redis URL).
  const dir = join(o.dir, o.run);
  const config = await writeDispatchGateway({
    file: join(dir, 'gateway.yaml'),
    gridFile: await writeGridFile(dir),
    ...(o.cluster ? { redis: { cluster: { nodes: o.cluster } } } : {}),
    dispatcher: { prefix: 'gw', fallbackGridCode: GRID.township, concurrency: 100, tickSec: 3_600 },
  });
  const gw = await buildGateway({
    config,
    roles: ['dispatch'],
    ...(o.redisUrl ? { redisUrl: o.redisUrl } : {}),
    schedulers: false,
    logger,
  });
  const d = gw.dispatcher;
  const before = await Promise.all(o.servers.map(info));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Second findings of each place half a run later, so the two are never in one batch.
  const order = [
    ...Array.from({ length: N / 2 }, (_, k) => 2 * k),
    ...Array.from({ length: N / 2 }, (_, k) => 2 * k + 1),
  ];
  for (let r = 0; r < order.length; r += 1_000)
    await Promise.all(order.slice(r, r + 1_000).map((i) => d.sink.submit(mkFinding(i, o.run))));
  for (;;) {
    const c = await d.queues.findings.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(c).every((v) => v === 0)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const nodeUs = (cpu.user + cpu.system) / N;
  const after = await Promise.all(o.servers.map(info));
  const list = await d.alerts.list({ scope: GRID.city, limit: 1 });
  const alerts = list.total ?? NaN;
  await gw.close();
  return {
    rate: N / secs,
    secs,
    nodeUs,
    us: after.map((a, i) => ((a.cpu - before[i]!.cpu) / N) * 1e6),
    memPerAlert: after.map((a, i) => (a.mem - before[i]!.mem) / (N / 2)),
    keys: after.map((a) => a.keys),
    alerts,
  };
}

async function main(): Promise<void> {
  const load0 = loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
  const dir = await mkdtemp(join(tmpdir(), 'gw-bench-dcluster-'));
  const rc = await startRedisCluster();
  const rcServers = rc.ports.map((port) => new Redis({ port, host: '127.0.0.1' }));
  const single = await startEmbeddedRedis({ dir: join(dir, 'redis') });
  const single1 = new Redis(single.url);
  // Same persistence as the cluster nodes (none), so the two differ only in the topology.
  await single1.config('SET', 'appendonly', 'no');
  await single1.config('SET', 'save', '');
  const admin: Cluster = rc.client();
  await admin.connect();
  const slot = (await admin.cluster('KEYSLOT', '{gw}')) as number;
  const owner = rc.ports.findIndex((p) => admin.slots[slot]?.[0] === `127.0.0.1:${p}`);
  admin.disconnect();
  try {
    const c = await runOnce({
      run: 'c',
      cluster: [{ host: '127.0.0.1', port: rc.ports[0]! }],
      servers: rcServers,
      dir,
    });
    const s = await runOnce({ run: 's', redisUrl: single.url, servers: [single1], dir });
    const others = c.us.filter((_, i) => i !== owner);
    const load1 = loadavg()
      .map((x) => x.toFixed(1))
      .join(' / ');
    const md = `One dispatcher process (a gateway built by \`buildGateway\`, role dispatch; BullMQ worker, concurrency 100), ${N} findings through \`sink.submit\` (in rounds of 1,000; half of them merge into an open alert, ${N / 2} alerts), timed from the first submit until the findings queue is empty; first on a 3-master Redis Cluster (\`redis.cluster\`, every dispatcher key and queue under \`{gw}\`, slot ${slot}), then on one redis-server, both without persistence. Command: \`npx tsx bench/dispatch-cluster.ts\` (BENCH_DISPATCH_CLUSTER_N=${N}).

| Measure | Redis Cluster (3 masters) | One redis-server |
|---|---|---|
| Findings per second (incl. producing) | **${c.rate.toFixed(0)}/s** (${c.secs.toFixed(2)} s) | ${s.rate.toFixed(0)}/s (${s.secs.toFixed(2)} s) |
| Alerts written (query total) | ${c.alerts} | ${s.alerts} |
| Dispatcher process CPU per finding (producing included) | ${c.nodeUs.toFixed(0)} µs | ${s.nodeUs.toFixed(0)} µs |
| Redis CPU per finding, the master holding \`{gw}\` | **${c.us[owner]!.toFixed(0)} µs** → one core sustains ≈ ${Math.round(1e6 / c.us[owner]!)}/s | ${s.us[0]!.toFixed(0)} µs |
| Redis CPU per finding, the other two masters | ${others.map((u) => `${u.toFixed(1)} µs`).join(', ')} (slot-map and health traffic only) | – |
| Memory per alert on the master holding \`{gw}\` (alert, audit, indexes, dedup and seen keys, stream entries, finished jobs) | ${(c.memPerAlert[owner]! / 1024).toFixed(1)} KiB | ${(s.memPerAlert[0]! / 1024).toFixed(1)} KiB |
| Keys per master after the run | ${c.keys.join(' / ')} | ${s.keys[0]} |

Load average at the start: ${load0}; at the end: ${load1} (2 shared cores: compare the two columns of this one run, and CPU per finding rather than wall-clock rates).`;
    recordResults('dispatch-cluster', 'Dispatcher on Redis Cluster (bench/dispatch-cluster.ts)', md);
    console.log(md);
  } finally {
    for (const r of [...rcServers, single1]) r.disconnect();
    await single.close();
    await rc.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
