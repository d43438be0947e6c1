/**
 * The one composition: the only module that knows every feature. main.ts (the CLI), the
 * dispatcher worker process, the test harnesses and the benchmarks all build a gateway here,
 * with the roles they need. Each factory gets its config, a child logger, the metrics registry
 * and its connections; shutdown runs in the reverse order of start-up.
 */
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve as resolvePath } from 'node:path';
import type { Request } from 'express';
import type { Registry } from 'prom-client';
import type { Alert } from '../core/contracts/alert.js';
import type {
  Actor,
  AlertNotifier,
  AlertService,
  RecheckProbe,
  Suppression,
} from '../core/contracts/alert-service.js';
import type { CameraDirectory } from '../core/contracts/camera-directory.js';
import type { EvidenceStore } from '../core/contracts/evidence-store.js';
import type { FindingTypeInfo } from '../core/contracts/finding.js';
import { resolveSecret } from '../core/config/resolve-secret.js';
import { Codes, ConfigError, GridwatchError } from '../core/errors.js';
import { createEvidenceStore } from '../core/evidence/evidence-store.js';
import { createRedisBlobStore } from '../core/evidence/redis-blob-store.js';
import { createLogger, type Logger } from '../core/logger.js';
import { createMetricsRegistry } from '../core/metrics.js';
import { createRedisClient } from '../core/redis/redis-client.js';
import { openRedis, type RedisConnection } from '../core/redis/redis-connection.js';
import type { RedisConfig } from '../core/redis/redis-config.js';
import {
  createDetectors,
  readPluginTypes,
  type CreateDetectorsOptions,
  type Detectors,
} from '../features/detectors/index.js';
import { createDispatcher, type Dispatcher } from '../features/dispatcher/dispatcher.js';
import { createDepartments, type Departments } from '../features/departments/create-departments.js';
import { departmentsOffRouter } from '../features/departments/departments-off.js';
import { DEPARTMENTS_API, DEPARTMENTS_OFF_API } from '../features/departments/departments-routes.js';
import { createEvents, type Events } from '../features/events/create-events.js';
import { EVENT_TYPE_INFOS } from '../features/events/event-schemas.js';
import { EVENTS_API, REPORTER_CONTACT_API } from '../features/events/events-routes.js';
import { CALLBACKS_API } from '../features/dispatcher/callback-routes.js';
import { createIngest, type Ingest } from '../features/ingest/ingest.js';
import { createWall, type Wall } from '../features/wall/create-wall.js';
import { createWorkers, type Workers } from '../features/workers/create-workers.js';
import { WORKERS_API } from '../features/workers/workers-routes.js';
import { recheckPhoto, SAME_VIEW_MIN } from './photo-recheck.js';
import type { ReadyReport } from '../features/wall/health-router.js';
import { alertLifecycleTable } from './alert-lifecycle-table.js';
import { createClusterWiring } from './cluster-wiring.js';
import { createClusterObserver } from '../features/cluster/cluster-observer.js';
import { createGatewayConfigStore, type GatewayConfigStore } from './gateway-config-store.js';
import { loadGatewayFile, type LoadedGatewayConfig } from './gateway-file.js';

/**
 * What a process does. `ingest` and `detect` go together (frames never cross the network);
 * `dispatch` runs the BullMQ workers and schedulers; `wall` serves HTTP and Socket.IO.
 */
export const ROLES = ['ingest', 'detect', 'dispatch', 'wall'] as const;
export type Role = (typeof ROLES)[number];

/** Finding types raised by the gateway itself rather than a detector plugin. */
export const BUILTIN_TYPES: FindingTypeInfo[] = [
  { type: 'camera_offline', zh: '摄像机离线', en: 'Camera offline', color: '#8a94a6', icon: '⚠' },
];

export interface BuildGatewayOptions {
  /** gateway.yaml, or its already-loaded form. */
  config: string | LoadedGatewayConfig;
  /** Default: every role (one process, the embedded default). */
  roles?: readonly Role[];
  logger?: Logger;
  /** Override the HTTP port (0 = a free one), e.g. for tests. */
  httpPort?: number;
  /** Use this Redis instead of gateway.yaml's (a worker joining a gateway's embedded Redis). */
  redisUrl?: string;
  /** Dispatch role: register the periodic schedulers (default true). */
  schedulers?: boolean;
  /** Test and benchmark seams; production passes none (see GatewaySeams). */
  seams?: GatewaySeams;
}

/**
 * The test seams: the only places where a test or a benchmark replaces or observes a part of
 * the gateway it builds here. main.ts and the dispatcher worker pass none. Everything else a
 * test needs (cameras, grids, users, Redis, ports) goes in through gateway.yaml, as in
 * production. Each seam exists because the real part cannot serve where it is used:
 */
export interface GatewaySeams {
  /**
   * Builds the detect role's parts; default createDetectors (plugin threads and the TF.js
   * model, seconds to load). Suites whose subject is not detection (the wall) pass a light one
   * (test/helpers/idle-detectors.ts); detection itself is tested with the real parts.
   */
  detectors?: (o: CreateDetectorsOptions) => Promise<Detectors>;
  /**
   * Wraps the AlertService the wall is given: scope tests hand the wall one whose own scope
   * check is broken, to show that the wall's checks alone keep each operator in scope.
   */
  wallAlerts?: (real: AlertService) => AlertService;
  /**
   * Told of every alert and suppression change this process relays, after the wall: tests wait
   * on it for the alert a finding made; benchmarks time the relay with it. With it, a process
   * without the wall role relays too.
   */
  observe?: AlertNotifier;
  /** The dispatcher's sink batch limit (benchmarks compare 1 with the default). */
  sinkBatchMax?: number;
}

export interface Gateway {
  roles: readonly Role[];
  /** Wall URL; null when this process has no wall role. */
  url: string | null;
  logger: Logger;
  metrics: Registry;
  redis: RedisConnection;
  config: GatewayConfigStore;
  evidence: EvidenceStore;
  dispatcher: Dispatcher;
  /** Present with the ingest role. */
  ingest: Ingest | null;
  detectors: Detectors | null;
  wall: Wall | null;
  close(): Promise<void>;
}

/** Checks a role list: known names, no repeats, ingest and detect together. */
export function parseRoles(input: readonly string[]): Role[] {
  const out = new Set<Role>();
  for (const r of input) {
    if (!(ROLES as readonly string[]).includes(r))
      throw new ConfigError(`unknown role "${r}"; roles are ${ROLES.join(', ')}`, []);
    out.add(r as Role);
  }
  if (out.size === 0) throw new ConfigError(`no role given; roles are ${ROLES.join(', ')}`, []);
  if (out.has('ingest') !== out.has('detect'))
    throw new ConfigError('roles ingest and detect run together: frames never cross the network', []);
  return ROLES.filter((r) => out.has(r));
}

/** A directory for a wall process without ingest: no camera runs here. */
const NO_CAMERAS: CameraDirectory = {
  list: () => [],
  get: () => undefined,
  startLiveView: () =>
    Promise.reject(new GridwatchError(Codes.GW_NOT_READY, 'live view runs on a node with the ingest role')),
  lastFrame: () => null,
  onState: () => () => undefined,
};

export async function buildGateway(opts: BuildGatewayOptions): Promise<Gateway> {
  const roles = parseRoles(opts.roles ?? ROLES);
  const seams = opts.seams ?? {};
  const has = (r: Role) => roles.includes(r);
  const logger = opts.logger ?? createLogger();
  const log = logger.child({ component: 'gateway' });
  const metrics = createMetricsRegistry();
  // Everything started is pushed here; close() pops in reverse. close() is memoised, so a
  // second caller waits for the same shutdown instead of returning early.
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
    const loaded = typeof opts.config === 'string' ? await loadGatewayFile(opts.config) : opts.config;
    const gw = loaded.config;
    const baseDir = loaded.baseDir;
    if (opts.httpPort !== undefined) gw.http.port = opts.httpPort;
    await mkdir(gw.dataDir, { recursive: true });

    if (!opts.redisUrl && (!gw.redis || 'embedded' in gw.redis) && !has('wall') && !has('ingest')) {
      throw new ConfigError(
        `${loaded.file}: the gateway uses embedded Redis; a ${roles.join('+')} process joins it with --redis redis://127.0.0.1:PORT`,
        [],
      );
    }
    // Only the dispatcher path (and the Redis evidence store) opens Cluster clients so far; the
    // wall's socket adapter, the leases' wiring and the health checks still take a URL.
    if (!opts.redisUrl && gw.redis && 'cluster' in gw.redis && roles.some((r) => r !== 'dispatch')) {
      throw new ConfigError(
        `${loaded.file}: redis.cluster runs the dispatch role only so far (roles here: ${roles.join('+')}); use a URL or Sentinel for the others`,
        [],
      );
    }
    // --redis joins another process's Redis as a plain URL, keeping gateway.yaml's password.
    const redisConfig: RedisConfig | undefined = opts.redisUrl
      ? {
          url: opts.redisUrl,
          ...(gw.redis && 'url' in gw.redis && gw.redis.password ? { password: gw.redis.password } : {}),
        }
      : gw.redis;
    const redis: RedisConnection = await openRedis({
      config: redisConfig,
      dataDir: gw.dataDir,
      baseDir,
      logger,
      metrics,
    });
    closers.push({ name: 'redis', close: () => redis.close() });
    log.info({ redis: redis.describe(), roles }, 'redis ready');

    // Shared between nodes (a shared directory or Redis) so any wall serves any node's evidence.
    const ev = gw.cluster.evidence;
    const evidence = createEvidenceStore({
      dir: ev.dir ? resolvePath(baseDir, ev.dir) : join(gw.dataDir, 'evidence'),
      ...(ev.store === 'redis'
        ? {
            blobs: createRedisBlobStore({
              redisUrl: redis.url,
              redisOptions: redis.options,
              ...(redis.cluster
                ? { connect: () => createRedisClient({ url: redis.url, cluster: redis.cluster }) }
                : {}),
              prefix: ev.prefix,
              ttlMs: gw.retention.evidenceDays * 86_400_000,
            }),
          }
        : {}),
      timeZone: gw.timezone,
      metrics,
    });
    closers.push({ name: 'evidence', close: () => evidence.close() });

    const store = createGatewayConfigStore({
      gatewayFile: loaded.file,
      loaded,
      logger,
      metrics,
      watch: true,
      // Rule names and options are checked by the detector plugins, when this process has them.
      validateCamera: (cam) => late.detectors?.plugins.validateCamera(cam) ?? [],
    });
    // The dispatcher, the wall and re-check refer to parts created after them; these
    // holders are filled below, before anything starts.
    const late: { wall: Wall | null; ingest: Ingest | null; detectors: Detectors | null } = {
      wall: null,
      ingest: null,
      detectors: null,
    };
    // The wall user of a request, for the features mounted beside the wall (events, departments,
    // workers): the wall's session check, once the wall exists.
    const wallActorOf = (req: Request): Promise<Actor> =>
      late.wall
        ? late.wall.actorOf(req)
        : Promise.reject(new GridwatchError(Codes.GW_NOT_READY, 'gateway is still starting'));
    const typeMap = new Map<string, FindingTypeInfo>(
      [...BUILTIN_TYPES, ...EVENT_TYPE_INFOS].map((t) => [t.type, t]),
    );
    const notifier: AlertNotifier = {
      alertChanged: (a: Alert, kind) => {
        late.wall?.notifier.alertChanged(a, kind);
        seams.observe?.alertChanged(a, kind);
      },
      suppressionChanged: (s: Suppression, kind) => {
        late.wall?.notifier.suppressionChanged?.(s, kind);
        seams.observe?.suppressionChanged?.(s, kind);
      },
    };
    const recheck: RecheckProbe = {
      async check(alert) {
        const { ingest, detectors } = late;
        // A grid worker's disposal photo reported since the last re-check is what is looked at
        // (features/workers): the worker stands where the problem was; events-API alerts have no camera.
        const d = alert.disposal;
        if (detectors && d?.photo && d.at >= (alert.recheck?.at ?? 0)) {
          // The raising camera frame (never replaced, unlike `latest`) tells whether the photo
          // shows the camera's view; gone to retention, the model's verdict stands alone.
          const first = alert.evidence.first;
          const camera = first ? await evidence.read(first).catch(() => null) : null;
          const r = await recheckPhoto(alert, await evidence.read(d.photo), camera, d.at, (f, a) =>
            detectors.pipeline.recheck(f, a),
          );
          return {
            present: r.present,
            score: r.score,
            evidence: d.photo,
            ...(r.sameView !== null && r.sameView < SAME_VIEW_MIN
              ? {
                  // The wall translates this note by its shape (views/audit.js): keep it stable.
                  why: `disposal photo of another view (similarity ${r.sameView.toFixed(2)} < ${SAME_VIEW_MIN})`,
                }
              : {}),
          };
        }
        if (!ingest || !detectors) throw new GridwatchError(Codes.GW_NOT_READY, 'gateway is still starting');
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

    const dispatcher: Dispatcher = createDispatcher({
      config: gw.dispatcher,
      forwarding: gw.forwarding,
      redisUrl: redis.url,
      redisOptions: redis.options,
      ...(redis.cluster ? { redisCluster: redis.cluster } : {}),
      grids: () => store.grids(),
      cameras: () => store.cameras(),
      typeInfo: (t) => typeMap.get(t),
      ...(has('wall') || seams.observe ? { notifier } : {}),
      ...(seams.sinkBatchMax !== undefined ? { sinkBatchMax: seams.sinkBatchMax } : {}),
      evidence,
      publicUrl: gw.http.publicUrl ?? `http://${gw.http.host}:${gw.http.port}`,
      baseDir,
      ...(has('detect') ? { recheck } : {}),
      retention: gw.retention,
      timeZone: gw.timezone,
      ...(gw.cluster.enabled ? { fencePrefix: gw.cluster.prefix } : {}),
      workers: has('dispatch'),
      schedulers: has('dispatch') && (opts.schedulers ?? true),
      logger,
      metrics,
    });
    closers.push({ name: 'dispatcher', close: () => dispatcher.close() });
    // Cluster mode: this node runs only the cameras whose lease it holds (docs/deployment.md).
    const cl =
      gw.cluster.enabled && has('ingest')
        ? createClusterWiring({
            config: gw.cluster,
            redisUrl: redis.url,
            redisOptions: redis.options,
            logger,
            metrics,
          })
        : null;
    // Pushed before ingest, so it closes after it: cameras stop, then leases are released.
    if (cl) closers.push({ name: 'cluster', close: () => cl.cluster.close() });
    // Any wall shows the cluster (admin page), with or without cameras of its own.
    const observer =
      gw.cluster.enabled && has('wall')
        ? createClusterObserver({ config: gw.cluster, redisUrl: redis.url, redisOptions: redis.options })
        : null;
    if (observer) closers.push({ name: 'cluster-observer', close: () => observer.close() });
    const findingSink = cl ? cl.fenced(dispatcher.sink) : dispatcher.sink;

    if (has('detect')) {
      const det = await (seams.detectors ?? createDetectors)({
        config: gw.detectors,
        baseDir,
        evidence,
        findingSink,
        timeZone: gw.timezone,
        logger,
        metrics,
      });
      late.detectors = det;
      closers.push({ name: 'detectors', close: () => det.close() });
      for (const t of det.pipeline.typeInfos()) typeMap.set(t.type, t);
    } else {
      // Same labels as the detect process: read from the plugins' manifests, no plugin code run.
      for (const t of await readPluginTypes(gw.detectors, baseDir)) typeMap.set(t.type, t);
    }

    await store.load();
    closers.push({ name: 'config', close: () => store.close() });

    // Browsers get live video through the wall's same-origin, scope-checked proxy: the media
    // server stays on loopback and no camera URL or credential reaches a page.
    const mediaPath = gw.ingest.liveView.publicPath ?? '/media';
    if (has('ingest')) {
      late.ingest = createIngest({
        config: { ...gw.ingest, liveView: { ...gw.ingest.liveView, publicPath: mediaPath } },
        timeZone: gw.timezone,
        logger,
        metrics,
        frameSize: { width: 512, height: 512 },
        findingSink,
        evidence,
        resolveSecret,
      });
    }
    const ing = late.ingest;
    const det = late.detectors;

    // Events API (issue 15): other sources' events become findings on the dispatcher's queue.
    let events: Events | null = null;
    if (has('wall') && gw.events.sourcesFile) {
      const ev = createEvents({
        config: gw.events,
        baseDir,
        redisUrl: redis.url,
        redisOptions: redis.options,
        prefix: gw.dispatcher.prefix,
        sink: dispatcher.sink,
        alerts: dispatcher.alerts,
        grids: () => store.grids(),
        evidence,
        contactTtlSec: Math.round(gw.retention.alertsDays * 86_400),
        actorOf: wallActorOf,
        logger,
        metrics,
      });
      closers.push({ name: 'events', close: () => ev.close() });
      await ev.start();
      events = ev;
    }

    // 吹哨报到 (issue 15): department calls on alerts, acted on by wall users.
    let departments: Departments | null = null;
    if (has('wall') && gw.departments.file) {
      const dp = createDepartments({
        config: gw.departments,
        baseDir,
        redisUrl: redis.url,
        redisOptions: redis.options,
        prefix: gw.dispatcher.prefix,
        alerts: dispatcher.alerts,
        grids: () => store.grids(),
        actorOf: wallActorOf,
        logger,
        metrics,
      });
      closers.push({ name: 'departments', close: () => dp.close() });
      await dp.start();
      departments = dp;
    }

    // Grid workers (issue 15): roster, 派遣 to a worker, the worker page and 处置反馈.
    let workers: Workers | null = null;
    if (has('wall') && gw.workers.file) {
      const wk = createWorkers({
        config: gw.workers,
        baseDir,
        alerts: dispatcher.alerts,
        grids: () => store.grids(),
        evidence,
        actorOf: wallActorOf,
        logger,
        metrics,
      });
      closers.push({ name: 'workers', close: () => wk.close() });
      await wk.start();
      workers = wk;
    }

    if (has('wall')) {
      const w = createWall({
        config: { http: gw.http, auth: gw.auth, users: gw.users, timezone: gw.timezone, wall: gw.wall },
        configDir: baseDir,
        dataDir: gw.dataDir,
        redisUrl: redis.url,
        redisOptions: redis.options,
        alerts: seams.wallAlerts ? seams.wallAlerts(dispatcher.alerts) : dispatcher.alerts,
        cameras: ing?.directory ?? NO_CAMERAS,
        grids: () => store.grids(),
        evidence,
        typeInfos: () => [...typeMap.values()],
        lifecycle: alertLifecycleTable(),
        health: {
          ready: async (): Promise<ReadyReport> => {
            const cams = store.cameras();
            const rejected = store.rejected();
            const checks: ReadyReport['checks'] = {
              // The supervisor knows at once when the embedded redis-server is down.
              redis: !redis.up()
                ? { ok: false, detail: `${redis.describe()}: down, restarting` }
                : await dispatcher.alerts
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
              // Alerts still flow without evidence images: degraded, not unavailable.
              evidence: { ...(await evidence.check()), critical: false },
            };
            if (det) {
              const pool = det.pipeline.health().pool;
              checks.detectors = {
                ok: pool.alive > 0,
                detail: `backend ${pool.backend}, ${pool.alive} workers`,
              };
            }
            if (cl) {
              const v = cl.cluster.view();
              checks.cluster = {
                ok: v.nodes.some((n) => n.id === cl.cluster.nodeId),
                detail: `node ${cl.cluster.nodeId}: ${cl.cluster.owned().size} cameras owned; ${v.nodes.length} live nodes; ${v.unowned} cameras unowned; roles ${roles.join('+')}; lease renew ${v.renewMs === null ? '—' : `${v.renewMs} ms`}`,
              };
            }
            return { ready: Object.values(checks).every((c) => c.ok || c.critical === false), checks };
          },
          details: async () => ({
            roles,
            cameras: {
              accepted: store.cameras().length,
              rejected: store.rejected(),
              states: ing?.stats() ?? null,
            },
            detectors: det?.pipeline.health() ?? null,
            unrouted: await dispatcher.unrouted(),
            configIssues: store.issues().length,
            evidence: evidence.health(),
            cluster: observer
              ? {
                  node: cl?.cluster.nodeId ?? null,
                  ownedHere: cl ? [...cl.cluster.owned()].sort() : [],
                  ...(await observer.snapshot(store.cameras().length)),
                }
              : null,
          }),
        },
        metrics,
        apiRouters: [
          // Each with the feature's route list, so the OpenAPI document names what is mounted.
          ...(events ? [{ path: '/api/v1/events', router: events.router, docs: EVENTS_API }] : []),
          ...(events
            ? [{ path: '/api/v1/alerts', router: events.contactRouter, docs: REPORTER_CONTACT_API }]
            : []),
          {
            path: '/api/v1/departments',
            router: departments?.router ?? departmentsOffRouter(wallActorOf),
            docs: departments ? DEPARTMENTS_API : DEPARTMENTS_OFF_API,
          },
          ...(workers ? [{ path: '/api/v1/workers', router: workers.router, docs: WORKERS_API }] : []),
        ],
        routers: [
          { path: '/api/platform', router: dispatcher.callbackRouter, docs: CALLBACKS_API },
          { path: '/evidence', router: dispatcher.evidenceRouter },
          ...(workers ? [{ path: '/m', router: workers.page }] : []),
        ],
        admin: {
          // Paths as the operator wrote them (relative to gateway.yaml): a reply names no absolute path.
          rejectedCameras: () =>
            store.rejected().map((r) => {
              const rel = relative(baseDir, r.file) || r.file;
              return { ...r, file: rel, errors: r.errors.map((e) => e.split(r.file).join(rel)) };
            }),
          plugins: () => det?.plugins.status() ?? [],
        },
        liveProxy: { path: mediaPath, origin: () => ing?.liveOrigin() ?? null },
        ...(workers ? { features: ['workers'] } : {}),
        logger,
      });
      late.wall = w;
      closers.push({ name: 'wall', close: () => w.close() });
    }
    if (ing) closers.push({ name: 'ingest', close: () => ing.close() });

    // Frames flow only once every consumer exists.
    if (ing && det) {
      ing.onFrame((frame, cam) => {
        det.pipeline
          .process(frame, cam)
          .catch((err: unknown) => log.error({ err, camera: cam.id }, 'frame processing failed'));
      });
      dispatcher.onSuppressions((list) => det.pipeline.setSuppressions(list));
    }
    const applyCameras = async () => {
      const cams = store.cameras();
      if (det) await det.pipeline.update(cams);
      cl?.cluster.update(cams.map((c) => c.id));
      ing?.update(cl ? cl.owned(cams) : cams);
      log.info({ cameras: cams.length, rejected: store.rejected().length }, 'cameras applied');
    };
    store.on('cameras', () => {
      applyCameras().catch((err: unknown) => log.error({ err }, 'applying reloaded cameras failed'));
    });

    await dispatcher.start();
    const url = late.wall ? (await late.wall.start()).url : null;
    await applyCameras();
    if (cl) {
      const off = cl.onChange(() => ing?.update(cl.owned(store.cameras())));
      closers.push({ name: 'cluster-listener', close: async () => off() });
      await cl.cluster.start();
    }
    log.info({ url, roles }, 'gridwatch is running');
    return {
      roles,
      url,
      logger,
      metrics,
      redis,
      config: store,
      evidence,
      dispatcher,
      ingest: ing,
      detectors: det,
      wall: late.wall,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
