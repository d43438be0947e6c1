import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { redisProcessId, startEmbeddedRedis, type EmbeddedRedis } from '../../core/redis/embedded-redis.js';
import { freePort } from '../../core/util/free-port.js';

/** A real redis-server on a free port in a temp dir, for one test file. */
export async function startTestRedis(): Promise<EmbeddedRedis & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-redis-'));
  const r = await startEmbeddedRedis({ dir });
  return {
    url: r.url,
    port: r.port,
    get pid() {
      return r.pid;
    },
    supervisor: r.supervisor,
    dir,
    async close() {
      await r.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisProcess {
  port: number;
  child: ChildProcess;
  /** Everything the server printed (for a failure message). */
  output(): string;
}

/**
 * A plain redis-server (or Sentinel) child on a free loopback port, for tests that need servers
 * the gateway does not start itself (Sentinel, a decoy). `args(port)` builds its arguments.
 * Ready only once the server on that port reports this child's pid: a port freePort() called
 * free can be taken by another test's server before ours binds it, and a TCP connect or a PONG
 * would then be the other server's. A taken port is replaced; anything else fails with the output.
 * `opts.port` starts it on that port instead (a server brought back where its clients look for
 * it); a taken port then fails, as nothing may replace it.
 */
export async function spawnRedisServer(
  args: (port: number) => Promise<string[]> | string[],
  opts: { password?: string; port?: number } = {},
): Promise<RedisProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const child = spawn('redis-server', await args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    // Kept short: a server that lives for the whole file keeps logging.
    const keep = (b: Buffer) => (out = (out + b.toString()).slice(-8_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let gone = false;
    void exited.then(() => (gone = true));
    const deadline = Date.now() + 10_000;
    while (!gone && Date.now() < deadline && (await redisProcessId(port, opts.password)) !== child.pid)
      await new Promise((r) => setTimeout(r, 50));
    if (!gone && Date.now() < deadline) return { port, child, output: () => out };
    if (!gone) child.kill('SIGKILL');
    await exited;
    if (!/address already in use/i.test(out) || attempt >= 5 || opts.port !== undefined)
      throw new Error(`redis-server did not start on ${port}: ${out.slice(-1_000)}`);
  }
}
