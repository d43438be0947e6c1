import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Codes, DependencyMissingError, GridwatchError } from '../errors.js';
import { createChildSupervisor, type ChildSupervisor } from '../process/child-supervisor.js';
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
  /** Restart delays after an unexpected exit (defaults: 100 ms doubling to 5 s). */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** close() ends within this bound whatever redis-server does (default 10 s). */
  stopTimeoutMs?: number;
  metrics?: Registry;
  /** Where a port comes from when `port` is not set (default: freePort); tests inject a taken one. */
  pickPort?: () => Promise<number>;
}

export interface EmbeddedRedis {
  readonly url: string;
  readonly port: number;
  /** The current child's pid (changes when the supervisor restarts it). */
  readonly pid: number | undefined;
  /** Restarts redis-server when it dies; `supervisor.up()` is false while it is down. */
  readonly supervisor: ChildSupervisor;
  /** Memoised: SHUTDOWN (flushes AOF), then SIGTERM, then SIGKILL; ends within stopTimeoutMs. */
  close(): Promise<void>;
}

function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * A private redis-server child on loopback, supervised (restarted on the same port and data
 * directory when it dies). Used by the gateway when no Redis is
 * configured, and by the test suite (each test file its own, on its own port).
 */
export async function startEmbeddedRedis(opts: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const bin = opts.binary ?? which('redis-server');
  if (!bin || (opts.binary !== undefined && !existsSync(opts.binary)))
    throw new DependencyMissingError('redis-server', 'redis-server');
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const log = opts.logger?.child({ component: 'embedded-redis' });
  // A redis left running by a gateway that was SIGKILLed would share this AOF with the new one.
  await stopStaleRedis(join(dir, 'redis.pid'), log);
  const fixed = opts.port && opts.port > 0 ? opts.port : undefined;
  // A port freePort() reported free can be taken by another process before redis-server binds
  // it (the test suite starts dozens of servers at once). Then our child exits with "Address
  // already in use"; a port we chose ourselves is worth choosing again, a configured one is not.
  for (let attempt = 1; ; attempt++) {
    const port = fixed ?? (await (opts.pickPort ?? freePort)());
    try {
      return await startOn(bin, dir, port, opts, log);
    } catch (err) {
      const taken = err instanceof GridwatchError && /address already in use/i.test(err.message);
      if (fixed !== undefined || !taken || attempt >= PORT_ATTEMPTS) throw err;
      log?.warn({ port, attempt }, 'port taken before redis-server bound it; choosing another');
    }
  }
}

const PORT_ATTEMPTS = 5;

async function startOn(
  bin: string,
  dir: string,
  port: number,
  opts: EmbeddedRedisOptions,
  log: Logger | undefined,
): Promise<EmbeddedRedis> {
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
  args.push('--pidfile', join(dir, 'redis.pid'));
  const supervisor = createChildSupervisor({
    name: 'redis-server',
    command: bin,
    // The same port and directory on every restart: clients reconnect to the same URL and the
    // AOF written before the crash is replayed.
    args,
    // Own process group: Ctrl-C in a terminal signals the whole foreground group, and redis must
    // outlive the gateway's other parts until close() shuts it down last, after the AOF flush.
    spawnOptions: { detached: true },
    logger: opts.logger ?? silentLogger(),
    // PONG alone is not enough: another redis-server already on this port (see startEmbeddedRedis)
    // would answer it, and the gateway would run on a stranger's data. Only our child's pid counts.
    probe: async () => {
      const pid = supervisor.pid();
      return pid !== undefined && (await redisProcessId(port)) === pid;
    },
    startTimeoutMs: opts.startTimeoutMs ?? 10_000,
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    // SHUTDOWN flushes the AOF; the supervisor falls back to SIGTERM, then SIGKILL, within the bound.
    gracefulStop: () => sendCommand(port, 'SHUTDOWN\r\n').then(() => undefined),
    stopTimeoutMs: opts.stopTimeoutMs ?? 10_000,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  try {
    await supervisor.start();
  } catch (err) {
    const out = supervisor.output().trim();
    throw new GridwatchError(
      Codes.GW_REDIS_START,
      `redis-server did not start on port ${port}${out ? `: ${out.slice(-1_000)}` : ''}`,
      { cause: err },
    );
  }
  log?.info({ port, dir, pid: supervisor.pid() }, 'embedded redis started');

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return supervisor.pid();
    },
    supervisor,
    close: () => supervisor.close(),
  };
}

/**
 * The pid of the redis-server (or Sentinel) answering on a loopback port, from `INFO server`;
 * undefined when nothing answers or the reply has no pid. Exported for the test fixtures that
 * start plain redis-servers and must know the one answering is theirs.
 */
export async function redisProcessId(port: number, password?: string): Promise<number | undefined> {
  try {
    const auth = password === undefined ? '' : `AUTH ${JSON.stringify(password)}\r\n`;
    const reply = await sendCommand(port, `${auth}INFO server\r\n`, (d) => /process_id:\d+\r\n/.test(d));
    const m = /process_id:(\d+)\r\n/.exec(reply);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Sends one raw command; resolves with what arrived once `complete` says so or the peer closes. */
function sendCommand(
  port: number,
  cmd: string,
  complete: (data: string) => boolean = () => true,
): Promise<string> {
  return new Promise((res, rej) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let data = '';
    sock.setTimeout(2_000, () => sock.destroy(new Error('timeout')));
    sock.on('connect', () => sock.write(cmd));
    sock.on('data', (b) => {
      data += b.toString();
      if (complete(data)) sock.end();
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
    if (!existsSync(`/proc/${pid}`) || isZombie(pid)) return;
  }
  process.kill(pid, 'SIGKILL');
}

/** An exited process not yet reaped by its parent still has /proc/PID; it holds no port or file. */
function isZombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ')'));
  } catch {
    return true;
  }
}
