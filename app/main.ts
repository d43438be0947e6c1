/**
 * The CLI: parses flags, builds the gateway with its roles, and turns signals into one awaited
 * shutdown. Everything else is in build-gateway.ts.
 *
 *   node dist/app/main.js [--config config/gateway.yaml] [--port N] [--roles ingest,detect,dispatch,wall]
 *                         [--redis redis://host:port] [--no-schedulers]
 *
 * --port N overrides http.port of the config for this run; --redis URL overrides redis (an
 * external Redis instead of the embedded one). A setting that cannot work (a busy HTTP port, a
 * Redis that cannot be reached, an invalid config) ends the process with one line on stderr
 * naming the setting, and exit code 2.
 */
import { createConnection, createServer } from 'node:net';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { isRedisUnavailable } from '../core/redis/redis-unavailable.js';
import { redactUrl } from '../core/util/redact.js';
import { buildGateway, parseRoles, ROLES, type Gateway } from './build-gateway.js';
import { loadGatewayFile, type LoadedGatewayConfig } from './gateway-file.js';

/** A setting that cannot work: printed as one line naming it, exit code 2. */
class SettingError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

function errnoOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Binds and releases host:port, so a busy port is named before anything else starts. */
function checkPortFree(host: string, port: number, where: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES'
          ? busyPort(host, port, where, err.code)
          : new SettingError('http.host', `cannot listen on ${host}:${port} (${err.code ?? err.message})`),
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

function busyPort(host: string, port: number, where: string, code: string): SettingError {
  return new SettingError(
    'http.port',
    code === 'EACCES'
      ? `port ${port} on ${host} needs privileges; set http.port in ${where} to 1024 or above, or pass --port N`
      : `port ${port} on ${host} is in use (another gridwatch, or another server); set http.port in ${where} or pass --port N`,
  );
}

/** One TCP connect to a Redis URL: refused or silent for 3 s is "cannot reach". */
function checkRedisReachable(url: string, where: string): Promise<void> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname || '127.0.0.1';
    port = u.port ? Number(u.port) : 6379;
  } catch {
    return Promise.reject(new SettingError('redis.url', `not a redis:// URL; fix it in ${where} or --redis`));
  }
  return new Promise((resolve, reject) => {
    const s = createConnection({ host, port });
    const fail = (why: string) => {
      s.destroy();
      reject(unreachable(url, where, why));
    };
    s.setTimeout(3_000, () => fail('no answer within 3 s'));
    s.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    s.once('connect', () => {
      s.end();
      resolve();
    });
  });
}

function unreachable(url: string | undefined, where: string, why: string): SettingError {
  return new SettingError(
    'redis.url',
    `cannot reach Redis${url ? ` at ${redactUrl(url)}` : ''} (${why}); start it, or set redis.url in ${where} or pass --redis URL`,
  );
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c', default: process.env.GRIDWATCH_CONFIG ?? 'config/gateway.yaml' },
      port: { type: 'string' },
      roles: { type: 'string', default: process.env.GRIDWATCH_ROLES ?? ROLES.join(',') },
      redis: { type: 'string', default: process.env.GRIDWATCH_REDIS_URL },
      'no-schedulers': { type: 'boolean', default: false },
    },
  });
  const logger = createLogger();
  const configFile = resolve(values.config!);
  const rel = relative(process.cwd(), configFile);
  const where = rel && !rel.startsWith('..') ? rel : configFile;
  let shuttingDown = false;
  // Libraries (the Socket.IO Redis adapter's SUBSCRIBE) leave promises that reject when their
  // connection is closed under them; during a failed start or a shutdown that is expected.
  process.on('unhandledRejection', (err) => {
    if (shuttingDown && isRedisUnavailable(err)) {
      logger.debug({ err }, 'redis command cut by shutdown');
      return;
    }
    logger.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
  let gateway: Gateway;
  let redisUrl: string | undefined = values.redis;
  try {
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535))
      throw new SettingError('--port', `"${values.port}" is not a port number (0-65535)`);
    const loaded: LoadedGatewayConfig = await loadGatewayFile(configFile);
    const roles = parseRoles(
      values
        .roles!.split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    );
    if (port !== undefined) loaded.config.http.port = port;
    const gw = loaded.config;
    if (!redisUrl && gw.redis && 'url' in gw.redis) redisUrl = gw.redis.url;
    if (roles.includes('wall')) await checkPortFree(gw.http.host, gw.http.port, where);
    if (redisUrl) await checkRedisReachable(redisUrl, where);
    gateway = await buildGateway({
      config: loaded,
      roles,
      logger,
      ...(redisUrl ? { redisUrl } : {}),
      schedulers: !values['no-schedulers'],
    }).catch((err: unknown) => {
      shuttingDown = true;
      // The same checks, for what changed between the probe and the real listen or connect.
      const errno = errnoOf(err);
      if (errno === 'EADDRINUSE' || errno === 'EACCES')
        throw busyPort(gw.http.host, gw.http.port, where, errno);
      if (redisUrl && isRedisUnavailable(err)) throw unreachable(redisUrl, where, errno ?? 'connection lost');
      throw err;
    });
  } catch (err) {
    shuttingDown = true;
    if (err instanceof ConfigError || err instanceof SettingError) {
      process.stderr.write(`gridwatch: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      logger.fatal({ err }, 'gridwatch failed to start');
      process.exitCode = 1;
    }
    return;
  }
  if (gateway.url) process.stdout.write(`\n  网格巡检墙 gridwatch wall: ${gateway.url}/\n\n`);
  else process.stdout.write(`\n  gridwatch ${gateway.roles.join('+')} ready\n\n`);
  const stop = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    // The bound on shutdown, whatever a part waits for (e.g. Redis that will not come back):
    // the process 'exit' hooks SIGKILL the children left.
    setTimeout(() => {
      logger.error({ boundMs: SHUTDOWN_BOUND_MS }, 'shutdown did not finish within the bound; exiting');
      process.exit(1);
    }, SHUTDOWN_BOUND_MS).unref();
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const SHUTDOWN_BOUND_MS = 10_000;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
