/**
 * A real 3-master Redis Cluster for one test file: three `redis-server --cluster-enabled yes`
 * on free loopback ports in a temp dir, joined with `redis-cli --cluster create` (no replicas).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { spawnRedisServer } from '../helpers/redis.js';
import { waitFor } from './support.js';

const run = promisify(execFile);

export interface TestRedisCluster {
  ports: number[];
  /** A new ioredis Cluster client (lazyConnect); the caller closes it. */
  client(opts?: ConstructorParameters<typeof Cluster>[1]): Cluster;
  close(): Promise<void>;
}

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-rcluster-'));
  const ports: number[] = [];
  const procs: ChildProcess[] = [];
  const close = async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      // spawnRedisServer: ready only once the server on the port is this child (ports race).
      const r = await spawnRedisServer((port) => [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir,
        '--dbfilename',
        `dump-${port}.rdb`,
        '--save',
        '',
        '--appendonly',
        'no',
      ]);
      ports.push(r.port);
      procs.push(r.child);
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports)
      await waitFor(`cluster_state:ok on :${port}`, async () => {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
        return stdout.includes('cluster_state:ok');
      });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    ports,
    client: (opts = {}) =>
      new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        { lazyConnect: true, ...opts },
      ),
    close,
  };
}
