/**
 * The CLI: parses flags, builds the gateway with its roles, and turns signals into one awaited
 * shutdown. Everything else is in build-gateway.ts.
 *
 *   node dist/app/main.js [--config config/gateway.yaml] [--port N] [--roles ingest,detect,dispatch,wall]
 *                         [--redis redis://host:port] [--no-schedulers]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { buildGateway, parseRoles, ROLES, type Gateway } from './build-gateway.js';

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
  let gateway: Gateway;
  try {
    gateway = await buildGateway({
      config: resolve(values.config!),
      roles: parseRoles(
        values
          .roles!.split(',')
          .map((r) => r.trim())
          .filter(Boolean),
      ),
      logger,
      ...(values.port ? { httpPort: Number(values.port) } : {}),
      ...(values.redis ? { redisUrl: values.redis } : {}),
      schedulers: !values['no-schedulers'],
    });
  } catch (err) {
    if (err instanceof ConfigError) {
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
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
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
