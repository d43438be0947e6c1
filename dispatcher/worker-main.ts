/**
 * A dispatcher process without the gateway: BullMQ workers (findings, forwarding, re-check,
 * maintenance) against a shared Redis. Run as many as you like, on any machine:
 *
 *   node --import tsx dispatcher/worker-main.ts --config gateway.yaml [--redis redis://host:6379]
 *
 * Alert changes are not sent to walls from here: each change is appended to the Redis stream
 * `<prefix>:d:events` in the same script that writes it, and the gateway process(es) relay the
 * stream to their Socket.IO rooms (createDispatcher with a notifier). See docs/integration.md.
 */
import { parseArgs } from 'node:util';
import { resolveSecret } from '../gateway/config/resolve-secret.js';
import { createConfigStore } from '../gateway/config/config-store.js';
import type { FindingTypeInfo } from '../gateway/contracts/finding.js';
import { createLogger } from '../gateway/logger.js';
import { createMetricsRegistry } from '../gateway/metrics.js';
import { createDispatcher } from './dispatcher.js';

/**
 * Labels of the built-in detector types. A worker process does not load detector plugins
 * (no TF.js here), so a plugin's own type shows its code until the gateway relabels it.
 */
const BUILTIN_TYPES: Record<string, Omit<FindingTypeInfo, 'type'>> = {
  illegal_parking: { zh: '违停', en: 'Illegal parking' },
  street_vending: { zh: '占道经营', en: 'Street vending' },
  crowd_gathering: { zh: '人员聚集', en: 'Crowd gathering' },
  road_obstruction: { zh: '道路遗撒/占道堆物', en: 'Road obstruction' },
  fire_smoke: { zh: '烟火', en: 'Fire or smoke' },
  camera_offline: { zh: '摄像机离线', en: 'Camera offline' },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: process.env.GRIDWATCH_CONFIG ?? 'gateway.yaml' },
      redis: { type: 'string', default: process.env.GRIDWATCH_REDIS_URL },
      'no-schedulers': { type: 'boolean', default: false },
    },
  });
  const logger = createLogger({ pretty: false });
  const log = logger.child({ component: 'dispatcher-worker' });
  const metrics = createMetricsRegistry();
  const cfg = createConfigStore({ gatewayFile: values.config!, logger, metrics, watch: true });
  await cfg.load();
  const gw = cfg.gateway;
  let redisUrl = values.redis;
  let password: string | undefined;
  if (!redisUrl && gw.redis && 'url' in gw.redis) {
    redisUrl = gw.redis.url;
    if (gw.redis.password) password = resolveSecret(gw.redis.password, cfg.baseDir);
  }
  if (!redisUrl) {
    throw new Error(
      `${values.config}: the gateway uses embedded Redis; give this worker its address with --redis redis://127.0.0.1:PORT`,
    );
  }
  const dispatcher = createDispatcher({
    config: gw.dispatcher,
    forwarding: gw.forwarding,
    redisUrl,
    ...(password ? { redisOptions: { password } } : {}),
    grids: () => cfg.grids(),
    cameras: () => cfg.cameras(),
    typeInfo: (type) => {
      const t = BUILTIN_TYPES[type];
      return t ? { type, ...t } : undefined;
    },
    publicUrl: gw.http.publicUrl ?? `http://${gw.http.host}:${gw.http.port}`,
    baseDir: cfg.baseDir,
    retention: gw.retention,
    timeZone: gw.timezone,
    schedulers: !values['no-schedulers'],
    logger,
    metrics,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    Promise.all([dispatcher.close(), cfg.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await dispatcher.start();
  log.info({ pid: process.pid }, 'dispatcher worker ready');
}

main().catch((err: unknown) => {
  process.stderr.write(
    `dispatcher worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
