/**
 * The composition in cluster mode: two real gateway processes (`app/main.ts --roles
 * ingest,detect,wall`, detectors loaded) on one redis-server share eight snapshot cameras.
 * Each node's ingest runs exactly the cameras whose lease it holds (its
 * gridwatch_ingest_cameras gauge, not just the cluster's own bookkeeping), /readyz reports the
 * cluster, and after a SIGKILL the survivor's ingest runs all of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../core/util/free-port.js';
import { placeCameras } from '../../features/cluster/placement.js';
import { startTestRedis } from '../helpers/redis.js';
import { leaseOwners, waitFor } from './support.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ALL = Array.from({ length: 9 }, (_, i) => `smoke-${String(i).padStart(2, '0')}`);
let CAMS = ALL.slice(0, 8);
const NODES = ['node-a', 'node-b'];
let redis: Awaited<ReturnType<typeof startTestRedis>>;
let r: Redis;
let dir: string;
const procs = new Map<string, { child: ChildProcess; port: number }>();

beforeAll(async () => {
  redis = await startTestRedis();
  r = new Redis(redis.url);
  dir = await mkdtemp(join(tmpdir(), 'gw-cluster-gw-'));
  await mkdir(join(dir, 'cameras'));
  await copyFile(join(ROOT, 'config/grids/demo-city.geojson'), join(dir, 'city.geojson'));
  await writeCameras();

  for (const id of NODES) {
    const port = await freePort();
    await writeFile(
      join(dir, `${id}.yaml`),
      [
        `http: { host: 127.0.0.1, port: ${port} }`,
        `redis: { url: "${redis.url}" }`,
        `dataDir: ./var-${id}`,
        'cameras: { dirs: [./cameras] }',
        'grids: { file: ./city.geojson }',
        'detectors: { workers: 1 }',
        `cluster: { enabled: true, nodeId: ${id}, capacity: 100 }`,
        '',
      ].join('\n'),
    );
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'app/main.ts',
        '--config',
        join(dir, `${id}.yaml`),
        '--roles',
        'ingest,detect,wall',
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, GRIDWATCH_LOG_LEVEL: 'warn' },
      },
    );
    procs.set(id, { child, port });
  }
}, 60_000);

afterAll(async () => {
  for (const { child } of procs.values()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((res) => child.once('exit', res));
    }
  }
  r.disconnect();
  await redis.close();
  await rm(dir, { recursive: true, force: true });
});

/** Snapshot cameras on a port nothing listens on: they run (and fail) cheaply, no video needed. */
async function writeCameras(): Promise<void> {
  const cams = CAMS.map(
    (id, i) => `  - id: ${id}
    deviceId: '4412020000132000${String(i).padStart(4, '0')}'
    name: 集群测试 ${i}
    source: { kind: snapshot, url: 'http://127.0.0.1:9/snap.jpg' }
    location: { lon: 112.4712, lat: 23.0498, crs: GCJ02 }
    samplingIntervalSec: 10
    detectors:
      - rule: illegal_parking`,
  );
  await writeFile(join(dir, 'cameras', 'c.yaml'), `site: 集群测试\ncameras:\n${cams.join('\n')}\n`);
}

/** Cameras the node's ingest runs (sum of gridwatch_ingest_cameras over states). */
async function ingestCameras(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^gridwatch_ingest_cameras\{[^}]*\} (\d+)$/gm)].reduce(
    (a, m) => a + Number(m[1]),
    0,
  );
}
async function clusterCheck(port: number): Promise<string> {
  const j = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as {
    checks: { cluster?: { detail: string } };
  };
  return j.checks.cluster?.detail ?? '';
}

describe('gateways in cluster mode', () => {
  it('run only their owned cameras, across a config reload, and the survivor runs all after a SIGKILL', async () => {
    let want = new Map<string, string | null>();
    const share = (id: string) => CAMS.filter((c) => want.get(c) === id).length;
    const settled = (what: string, timeoutMs: number) => {
      want = placeCameras(
        CAMS,
        NODES.map((id) => ({ id, capacity: 100 })),
      );
      return waitFor(
        what,
        async () => {
          const owners = await leaseOwners(r, 'gw:cluster', CAMS);
          if (CAMS.some((c) => owners.get(c) !== want.get(c))) return false;
          for (const id of NODES) if ((await ingestCameras(procs.get(id)!.port)) !== share(id)) return false;
          return true;
        },
        timeoutMs,
      );
    };
    await settled('both gateways run their share', 90_000);
    // A camera added to the shared files: each node reloads, one claims it, neither runs the other's.
    CAMS = ALL;
    await writeCameras();
    await settled('both gateways run their share of the reloaded list', 20_000);
    expect(share('node-a') + share('node-b')).toBe(CAMS.length);
    expect(await clusterCheck(procs.get('node-a')!.port)).toMatch(
      new RegExp(`^node node-a: ${share('node-a')} cameras owned; 2 live nodes`),
    );

    const b = procs.get('node-b')!.child;
    b.kill('SIGKILL');
    await new Promise((res) => b.once('exit', res));
    await waitFor(
      'the survivor runs every camera',
      async () => (await ingestCameras(procs.get('node-a')!.port)) === CAMS.length,
      10_000,
    );
    const owners = await leaseOwners(r, 'gw:cluster', CAMS);
    for (const c of CAMS) expect(owners.get(c)).toBe('node-a');
  }, 120_000);
});
