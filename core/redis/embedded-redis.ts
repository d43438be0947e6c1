import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { Codes, DependencyMissingError, GridwatchError } from '../errors.js';
import { freePort } from '../util/free-port.js';
import { which } from '../util/which.js';

export interface EmbeddedRedisOptions {
  /** Directory for the AOF files; created if missing. */
  dir: string;
  port?: number;
  /** AOF on by default: alerts and the audit trail must survive a restart. */
  appendonly?: boolean;
  logger?: Logger;
  startTimeoutMs?: number;
  /** Override the redis-server binary (default: found on PATH). */
  binary?: string;
}

export interface EmbeddedRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** Idempotent: SHUTDOWN (flushes AOF), then SIGKILL if it does not exit in time. */
  close(): Promise<void>;
}

/**
 * A private redis-server child on loopback. Used by the gateway when no Redis is
 * configured, and by the test suite (each test file its own, on its own port).
 */
export async function startEmbeddedRedis(opts: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const bin = opts.binary ?? which('redis-server');
  if (!bin || (opts.binary !== undefined && !existsSync(opts.binary)))
    throw new DependencyMissingError('redis-server', 'redis-server');
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const log = opts.logger?.child({ component: 'embedded-redis' });
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    opts.appendonly === false ? 'no' : 'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    // BullMQ requires noeviction: an evicted job key silently loses a finding.
    '--maxmemory-policy',
    'noeviction',
    '--protected-mode',
    'yes',
    '--loglevel',
    'warning',
  ];
  // A redis left running by a gateway that was SIGKILLed would share this AOF with the new one.
  await stopStaleRedis(join(dir, 'redis.pid'), log);
  args.push('--pidfile', join(dir, 'redis.pid'));
  // Own process group: Ctrl-C in a terminal signals the whole foreground group, and redis must
  // outlive the gateway's other parts until close() shuts it down last, after the AOF flush.
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  let output = '';
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  const exitPromise = new Promise<void>((res) =>
    child.once('exit', () => {
      exited = true;
      res();
    }),
  );
  child.once('error', (err) => log?.error({ err }, 'redis-server failed to start'));

  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  for (;;) {
    if (exited)
      throw new GridwatchError(Codes.GW_REDIS_START, `redis-server exited at start: ${output.trim()}`);
    if (await ping(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new GridwatchError(
        Codes.GW_REDIS_START,
        `redis-server did not answer on port ${port}: ${output.trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  log?.info({ port, dir, pid: child.pid }, 'embedded redis started');

  let closing: Promise<void> | null = null;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    close() {
      closing ??= (async () => {
        if (exited) return;
        await sendCommand(port, 'SHUTDOWN\r\n').catch((err: unknown) =>
          log?.warn({ err }, 'redis SHUTDOWN failed; killing'),
        );
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(timer);
        process.removeListener('exit', killOnExit);
        log?.info({ port }, 'embedded redis stopped');
      })();
      return closing;
    },
  };
}

async function ping(port: number): Promise<boolean> {
  try {
    const reply = await sendCommand(port, 'PING\r\n');
    return reply.startsWith('+PONG');
  } catch {
    return false;
  }
}

function sendCommand(port: number, cmd: string): Promise<string> {
  return new Promise((res, rej) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let data = '';
    sock.setTimeout(2_000, () => sock.destroy(new Error('timeout')));
    sock.on('connect', () => sock.write(cmd));
    sock.on('data', (b) => {
      data += b.toString();
      sock.end();
    });
    sock.on('error', rej);
    sock.on('close', () => res(data));
  });
}

/** Stops a redis-server whose pidfile is in our data dir (left by a gateway that was killed). */
async function stopStaleRedis(pidfile: string, log: Logger | undefined): Promise<void> {
  if (!existsSync(pidfile)) return;
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // not running: the pidfile is stale
  }
  if (!cmdline.includes('redis-server')) return;
  log?.warn({ pid }, 'stopping a redis-server left running on this data directory by an earlier gateway');
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(`/proc/${pid}`)) return;
  }
  process.kill(pid, 'SIGKILL');
}
