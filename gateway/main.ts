/**
 * The composition root: the only place that knows every component. Each factory gets its
 * config, a child logger, the metrics registry and its connections; shutdown runs in the
 * reverse order of start-up.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Registry } from 'prom-client';
import { createDetectors, type Detectors } from '../detectors/index.js';
import { createDispatcher, type Dispatcher } from '../dispatcher/dispatcher.js';
import { createConfigStore, type ConfigStore } from './config/config-store.js';
import { loadGatewayFile } from './config/gateway-file.js';
import { resolveSecret } from './config/resolve-secret.js';
import type { Alert } from './contracts/alert.js';
import type { AlertNotifier, RecheckProbe, Suppression } from './contracts/alert-service.js';
import type { FindingTypeInfo } from './contracts/finding.js';
import { ConfigError, GridwatchError } from './errors.js';
import { createEvidenceStore } from './evidence/evidence-store.js';
import type { ReadyReport } from './health/health-router.js';
import { createIngest, type Ingest } from './ingest/ingest.js';
import { createLogger, type Logger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
import { openRedis, type RedisConnection } from './redis/redis-connection.js';
import { createWall, type Wall } from './wall/create-wall.js';

/** Finding types raised by the gateway itself rather than a detector plugin. */
const BUILTIN_TYPES: FindingTypeInfo[] = [
  { type: 'camera_offline', zh: '摄像机离线', en: 'Camera offline', color: '#8a94a6', icon: '⚠' },
];

export interface GatewayOptions {
  configFile: string;
  logger?: Logger;
  /** Override the HTTP port (0 = a free one), e.g. for tests. */
  httpPort?: number;
}

export interface Gateway {
  url: string;
  logger: Logger;
  metrics: Registry;
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const logger = opts.logger ?? createLogger();
  const log = logger.child({ component: 'main' });
  const metrics = createMetricsRegistry();
  // Everything started is pushed here; close() pops in reverse.
  const closers: Array<{ name: string; close: () => Promise<void> }> = [];
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      for (const c of closers.reverse()) {
        try {
          await c.close();
          log.debug({ part: c.name }, 'closed');
        } catch (err) {
          log.error({ err, part: c.name }, 'error while closing');
        }
      }
    })();
    return closing;
  };

  try {
    const { config: gw, baseDir } = await loadGatewayFile(opts.configFile);
    if (opts.httpPort !== undefined) gw.http.port = opts.httpPort;
    await mkdir(gw.dataDir, { recursive: true });

    const redis: RedisConnection = await openRedis({
      config: gw.redis,
      dataDir: gw.dataDir,
      baseDir,
      logger,
    });
    closers.push({ name: 'redis', close: () => redis.close() });
    log.info({ redis: redis.describe() }, 'redis ready');

    const evidence = createEvidenceStore({ dir: join(gw.dataDir, 'evidence'), timeZone: gw.timezone });

    // Dispatcher, detectors, ingest and wall refer to each other (alerts go to the wall, the wall
    // acts on alerts, re-check needs ingest and the model); late-bound handles break the cycle.
    let wall: Wall | null = null;
    let ingest: Ingest | null = null;
    let detectors: Detectors | null = null;
    const typeMap = new Map<string, FindingTypeInfo>(BUILTIN_TYPES.map((t) => [t.type, t]));
    const notifier: AlertNotifier = {
      alertChanged: (a: Alert, kind) => wall?.notifier.alertChanged(a, kind),
      suppressionChanged: (s: Suppression, kind) => wall?.notifier.suppressionChanged?.(s, kind),
    };
    const recheck: RecheckProbe = {
      async check(alert) {
        if (!ingest || !detectors) throw new GridwatchError('GW_NOT_READY', 'gateway is still starting');
        const frame = await ingest.grabFrame(alert.cameraId, 30_000);
        const r = await detectors.pipeline.recheck(frame, alert);
        const path = await evidence.put(
          `${alert.id}-recheck-${frame.capturedAt}`,
          frame.jpeg,
          frame.capturedAt,
        );
        return { present: r.present, score: r.score, evidence: path };
      },
    };

    let configStore: ConfigStore | null = null;
    const dispatcher: Dispatcher = createDispatcher({
      config: gw.dispatcher,
      forwarding: gw.forwarding,
      redisUrl: redis.url,
      redisOptions: redis.options,
      grids: () => configStore!.grids(),
      cameras: () => configStore?.cameras() ?? [],
      typeInfo: (t) => typeMap.get(t),
      notifier,
      evidence,
      publicUrl: gw.http.publicUrl ?? `http://${gw.http.host}:${gw.http.port}`,
      baseDir,
      recheck,
      retention: gw.retention,
      timeZone: gw.timezone,
      logger,
      metrics,
    });
    closers.push({ name: 'dispatcher', close: () => dispatcher.close() });

    detectors = await createDetectors({
      config: gw.detectors,
      baseDir,
      evidence,
      findingSink: dispatcher.sink,
      timeZone: gw.timezone,
      logger,
      metrics,
    });
    const det = detectors;
    closers.push({ name: 'detectors', close: () => det.close() });
    for (const t of det.pipeline.typeInfos()) typeMap.set(t.type, t);

    configStore = createConfigStore({
      gatewayFile: opts.configFile,
      logger,
      metrics,
      watch: true,
      validateCamera: (cam) => det.plugins.validateCamera(cam),
    });
    const store = configStore;
    await store.load();
    closers.push({ name: 'config', close: () => store.close() });

    // Browsers get live video through the wall's same-origin, scope-checked proxy: the media
    // server stays on loopback and no camera URL or credential reaches a page.
    const mediaPath = gw.ingest.liveView.publicPath ?? '/media';
    ingest = createIngest({
      config: { ...gw.ingest, liveView: { ...gw.ingest.liveView, publicPath: mediaPath } },
      timeZone: gw.timezone,
      logger,
      metrics,
      frameSize: { width: 512, height: 512 },
      findingSink: dispatcher.sink,
      evidence,
      resolveSecret,
    });
    const ing = ingest;

    wall = createWall({
      config: { http: gw.http, auth: gw.auth, users: gw.users, timezone: gw.timezone },
      configDir: baseDir,
      dataDir: gw.dataDir,
      redisUrl: redis.url,
      redisOptions: redis.options,
      alerts: dispatcher.alerts,
      cameras: ing.directory,
      grids: () => store.grids(),
      evidence,
      typeInfos: () => [...typeMap.values()],
      health: {
        ready: async (): Promise<ReadyReport> => {
          const cams = store.cameras();
          const rejected = store.rejected();
          const pool = det.pipeline.health().pool;
          const checks: ReadyReport['checks'] = {
            redis: await dispatcher.alerts
              .suppressions()
              .then(() => ({ ok: true, detail: redis.describe() }))
              .catch((err: unknown) => ({
                ok: false,
                detail: err instanceof Error ? err.message : String(err),
              })),
            config: {
              ok: true,
              detail: `${cams.length} cameras accepted, ${rejected.length} rejected, ${store.grids().size} grids`,
            },
            detectors: { ok: pool.alive > 0, detail: `backend ${pool.backend}, ${pool.alive} workers` },
          };
          return { ready: Object.values(checks).every((c) => c.ok), checks };
        },
        details: async () => ({
          cameras: { accepted: store.cameras().length, rejected: store.rejected(), states: ing.stats() },
          detectors: det.pipeline.health(),
          unrouted: await dispatcher.unrouted(),
          configIssues: store.issues().length,
        }),
      },
      metrics,
      routers: [
        { path: '/api/platform', router: dispatcher.callbackRouter },
        { path: '/evidence', router: dispatcher.evidenceRouter },
      ],
      admin: { rejectedCameras: () => store.rejected(), plugins: () => det.plugins.status() },
      liveProxy: { path: mediaPath, origin: () => ing.liveOrigin() },
      logger,
    });
    const w = wall;
    closers.push({ name: 'wall', close: () => w.close() });
    closers.push({ name: 'ingest', close: () => ing.close() });

    // Frames flow only once every consumer exists.
    ing.onFrame((frame, cam) => {
      det.pipeline
        .process(frame, cam)
        .catch((err: unknown) => log.error({ err, camera: cam.id }, 'frame processing failed'));
    });
    dispatcher.onSuppressions((list) => det.pipeline.setSuppressions(list));
    const applyCameras = async () => {
      const cams = store.cameras();
      await det.pipeline.update(cams);
      ing.update(cams);
      log.info({ cameras: cams.length, rejected: store.rejected().length }, 'cameras applied');
    };
    store.on('cameras', () => {
      applyCameras().catch((err: unknown) => log.error({ err }, 'applying reloaded cameras failed'));
    });

    await dispatcher.start();
    const { url } = await w.start();
    await applyCameras();
    log.info({ url }, 'gridwatch is running');
    return { url, logger, metrics, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', short: 'c', default: 'config/gateway.yaml' },
      port: { type: 'string' },
    },
  });
  const logger = createLogger();
  let gateway: Gateway;
  try {
    gateway = await startGateway({
      configFile: resolve(values.config!),
      logger,
      ...(values.port ? { httpPort: Number(values.port) } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gridwatch: ${err.message}\n`);
    } else {
      logger.fatal({ err }, 'gridwatch failed to start');
    }
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`\n  网格巡检墙 gridwatch wall: ${gateway.url}/\n\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
