import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Router } from 'express';
import helmet from 'helmet';
import { Redis, type RedisOptions } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { Actor, AlertNotifier, AlertService } from '../../core/contracts/alert-service.js';
import type { ApiRouteGroup } from '../../core/http/api-route-doc.js';
import type { CameraDirectory, RejectedEntry } from '../../core/contracts/camera-directory.js';
import type { EvidenceStore } from '../../core/contracts/evidence-store.js';
import type { FindingTypeInfo } from '../../core/contracts/finding.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { ClosedError, Codes, GridwatchError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { createRedisOutageLog, type RedisOutageLog } from '../../core/redis/redis-outage-log.js';
import { createHealthRouter, type HealthSources } from './health-router.js';
import { createWallAuth, loadSessionSecret, type WallAuth } from './auth.js';
import type { AlertLifecycleTable } from './api-schemas.js';
import { createApiRouter, requestToken } from './http-api.js';
import { createErrorHandler, notFoundHandler } from './http-errors.js';
import { mountedRoutes, type MountedRoute } from './mounted-routes.js';
import { createLiveProxy, createLiveWsProxy } from './live-proxy.js';
import { createWallSocketServer, type WallSocketServer } from './socket-server.js';
import { tileOrigins, type AuthConfig, type UserConfig, type WallConfig } from './wall-config.js';
import { parsePasswordHash } from './password-hash.js';
import { ConfigError } from '../../core/errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));
// `npm run build` copies public/ next to the compiled module (scripts/copy-assets.ts).
const PUBLIC_DIR = join(HERE, 'public');

export interface WallOptions {
  config: {
    http: { host: string; port: number; publicUrl?: string | undefined; trustProxy?: string[] };
    auth: AuthConfig;
    users: UserConfig[];
    timezone: string;
    /** `wall:` section; absent: no map tiles. */
    wall?: WallConfig;
  };
  /** Where relative secret files in the config resolve (the gateway.yaml folder); default dataDir. */
  configDir?: string;
  dataDir: string;
  redisUrl: string;
  /** Extra ioredis options (password, Sentinel group) that cannot travel in the URL. */
  redisOptions?: RedisOptions;
  alerts: AlertService;
  cameras: CameraDirectory;
  grids: () => GridIndex;
  evidence: EvidenceStore;
  typeInfos: () => FindingTypeInfo[];
  /** Alert states and the actions each allows, served by GET /api/v1/meta. */
  lifecycle: AlertLifecycleTable;
  health: HealthSources;
  metrics: Registry;
  /** Mounted outside /api/v1; those with `docs` are in the OpenAPI document too (the platform callbacks). */
  routers?: Array<{ path: string; router: Router; docs?: ApiRouteGroup }>;
  /**
   * Mounted before the wall's own /api/v1 router (which answers every other /api/v1 path), e.g.
   * /api/v1/events, each with the feature's route list for the OpenAPI document (mounted at `path`).
   */
  apiRouters?: Array<{ path: string; router: Router; docs?: ApiRouteGroup }>;
  admin: { rejectedCameras(): RejectedEntry[]; plugins(): unknown[] };
  /**
   * Same-origin proxy to the live media server, when ingest's liveView.publicPath is set:
   * `{ path: '/media', origin: () => ingest.liveOrigin() }`.
   */
  liveProxy?: { path: string; origin: () => string | null };
  /** Optional features whose routers are mounted here (GET /api/v1/meta lists them), e.g. ['workers']. */
  features?: string[];
  /** Extra origins the browser may fetch live video from (CSP connect-src), when tickets point off-origin. */
  mediaOrigins?: string[];
  version?: string;
  logger: Logger;
}

export interface Wall {
  notifier: AlertNotifier;
  /**
   * The wall user a request comes from (Bearer token or session cookie; CSRF checked for
   * cookie writes), for routers mounted beside the wall's own (features/departments).
   */
  actorOf(req: Request): Promise<Actor>;
  /** Every method and path the HTTP server routes (after start()), from its mounted routers. */
  routes(): MountedRoute[];
  start(): Promise<{ url: string }>;
  close(): Promise<void>;
}

function redisClient(url: string, extra: RedisOptions, outage: RedisOutageLog, name: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 3, ...extra, lazyConnect: false, connectionName: name });
  r.on('error', (err) => outage.error(err, { client: name }, 'redis client error'));
  r.on('ready', () => outage.recovered());
  return r;
}

/**
 * The operator wall: HTTP API, Socket.IO, the static page, and health routes on one server.
 * Until start() nothing listens; notifier calls made before then reach no one (no sockets).
 */
export function createWall(opts: WallOptions): Wall {
  const logger = opts.logger.child({ component: 'wall' });
  const { config } = opts;
  const issues = config.users.flatMap((u, i) => {
    try {
      parsePasswordHash(u.passwordHash);
      return [];
    } catch (err) {
      return [
        {
          source: 'gateway.yaml',
          path: `users[${i}].passwordHash`,
          expected: 'scrypt$N$r$p$salt$hash',
          found: 'a malformed hash',
          message: (err as Error).message,
        },
      ];
    }
  });
  const seen = new Set<string>();
  config.users.forEach((u, i) => {
    if (seen.has(u.username)) {
      issues.push({
        source: 'gateway.yaml',
        path: `users[${i}].username`,
        expected: 'a unique username',
        found: JSON.stringify(u.username),
        message: 'username used twice',
      });
    }
    seen.add(u.username);
  });
  if (issues.length) throw new ConfigError('wall users', issues);

  // One line per outage (and a periodic summary), not one per failed reconnect of each client.
  const outage = createRedisOutageLog({ logger, what: 'wall' });
  const redis = redisClient(opts.redisUrl, opts.redisOptions ?? {}, outage, 'gw-wall');
  const adapterRedis = redisClient(opts.redisUrl, opts.redisOptions ?? {}, outage, 'gw-wall-adapter');
  const app = express();
  app.disable('x-powered-by');
  // Production behaviour whatever NODE_ENV says: Express's fallback handler never shows a
  // stack (it is reached only for errors after a reply started; ours answers the rest).
  app.set('env', 'production');
  // X-Forwarded-For is believed only from configured proxies (none by default): otherwise any
  // client on the proxy's host, or any client at all, picks its own address for login limits.
  const trusted = config.http.trustProxy ?? [];
  app.set('trust proxy', trusted.length ? trusted : false);
  const server: HttpServer = createServer(app);
  const requests = new Counter({
    name: 'gridwatch_wall_http_requests_total',
    help: 'Wall API requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [opts.metrics],
  });
  const tiles = opts.config.wall?.map.tiles;
  const publicOrigin = opts.config.http.publicUrl ? new URL(opts.config.http.publicUrl).origin : null;

  let sockets: WallSocketServer | null = null;
  let liveWs: { close(): void } | null = null;
  let started: Promise<{ url: string }> | null = null;
  let closed: Promise<void> | null = null;
  let authRef: WallAuth | null = null;

  const notifier: AlertNotifier = {
    alertChanged(alert, kind) {
      sockets?.notifier.alertChanged(alert, kind);
    },
    suppressionChanged(s, kind) {
      sockets?.notifier.suppressionChanged?.(s, kind);
    },
  };

  async function setup(): Promise<{ url: string }> {
    const secret = await loadSessionSecret(config.auth, opts.configDir ?? opts.dataDir, opts.dataDir);
    for (const u of config.users) {
      // Not fatal: the grid file may be fixed and hot-reloaded; until then the user sees nothing.
      if (!opts.grids().get(u.scope))
        logger.warn(
          { username: u.username, scope: u.scope },
          'user scope is not a grid in the grid file: the user will see no alerts',
        );
    }
    const auth = createWallAuth({
      config: config.auth,
      users: config.users,
      secret,
      redis,
      logger: logger.child({ part: 'auth' }),
    });
    authRef = auth;
    app.use(
      helmet({
        contentSecurityPolicy: {
          useDefaults: false,
          directives: {
            defaultSrc: ["'self'"],
            scriptSrc: ["'self'"],
            styleSrc: ["'self'"],
            // The map's tile server, only when one is configured.
            imgSrc: ["'self'", 'data:', 'blob:', ...(tiles ? tileOrigins(tiles) : [])],
            mediaSrc: ["'self'", 'blob:'],
            workerSrc: ["'self'", 'blob:'],
            connectSrc: ["'self'", ...(opts.mediaOrigins ?? [])],
            fontSrc: ["'self'"],
            objectSrc: ["'none'"],
            frameAncestors: ["'none'"],
            baseUri: ["'self'"],
            formAction: ["'self'"],
          },
        },
        // The wall is often served over plain HTTP on a private network.
        strictTransportSecurity: publicOrigin?.startsWith('https:') ? undefined : false,
      }),
    );
    app.use(createHealthRouter({ health: opts.health, registry: opts.metrics, logger }));
    const allowedOrigins = (host: string | undefined): string[] => [
      ...(host ? [`http://${host}`, `https://${host}`] : []),
      ...(publicOrigin ? [publicOrigin] : []),
    ];
    sockets = createWallSocketServer({
      outage,
      httpServer: server,
      redis: adapterRedis,
      auth,
      alerts: opts.alerts,
      cameras: opts.cameras,
      grids: opts.grids,
      logger: logger.child({ part: 'socket' }),
      registry: opts.metrics,
      allowedOrigins,
    });
    const s = sockets;
    for (const r of opts.apiRouters ?? []) app.use(r.path, r.router);
    app.use(
      '/api/v1',
      createApiRouter(
        {
          auth,
          alerts: opts.alerts,
          cameras: opts.cameras,
          grids: opts.grids,
          evidence: opts.evidence,
          typeInfos: opts.typeInfos,
          lifecycle: opts.lifecycle,
          timeZone: config.timezone,
          mapTiles: tiles ?? null,
          ...(opts.features ? { features: opts.features } : {}),
          docs: [...(opts.apiRouters ?? []), ...(opts.routers ?? [])].flatMap((r) =>
            r.docs ? [{ ...r.docs, mount: r.path }] : [],
          ),
          details: () => opts.health.details(),
          admin: opts.admin,
          onLogout: (session) => s.endSession(session, 'logout'),
          secureCookie: publicOrigin?.startsWith('https:') ?? false,
          logger: logger.child({ part: 'api' }),
          requests,
        },
        opts.version ?? '0.1.0',
      ),
    );
    if (opts.liveProxy) {
      const lp = opts.liveProxy;
      app.use(
        lp.path,
        createLiveProxy({
          origin: lp.origin,
          auth,
          cameras: opts.cameras,
          grids: opts.grids,
          logger: logger.child({ part: 'live' }),
        }),
      );
      const ws = createLiveWsProxy({
        path: lp.path,
        origin: lp.origin,
        auth,
        cameras: opts.cameras,
        grids: opts.grids,
        allowedOrigins,
        logger: logger.child({ part: 'live-ws' }),
      });
      liveWs = ws;
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if ((req.url ?? '').startsWith('/socket.io/')) return; // engine.io's
        if (!ws.upgrade(req, socket, head)) socket.destroy();
      });
    } else {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
        if (!(req.url ?? '').startsWith('/socket.io/')) socket.destroy();
      });
    }
    for (const r of opts.routers ?? []) app.use(r.path, r.router);
    const mpegts = createRequire(import.meta.url).resolve('mpegts.js/dist/mpegts.js');
    app.get('/vendor/mpegts.js', (_req, res) => {
      res.sendFile(mpegts, { maxAge: '1d' });
    });
    // The map and chart libraries, served from the installed packages: nothing is fetched at
    // run time (wall PCs are often offline), and the CSP stays 'self'.
    const leafletDir = dirname(createRequire(import.meta.url).resolve('leaflet/dist/leaflet.css'));
    app.use('/vendor/leaflet', express.static(leafletDir, { maxAge: '1d', index: false }));
    const echarts = createRequire(import.meta.url).resolve('echarts/dist/echarts.esm.min.mjs');
    app.get('/vendor/echarts.esm.min.mjs', (_req, res) => {
      res.sendFile(echarts, { maxAge: '1d' });
    });
    app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));
    app.use(notFoundHandler());
    app.use(createErrorHandler({ logger: logger.child({ part: 'http' }) }));

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${host}:${addr.port}`;
    logger.info({ url, publicUrl: opts.config.http.publicUrl }, 'wall listening');
    return { url };
  }

  return {
    notifier,
    async actorOf(req) {
      if (!authRef) throw new GridwatchError(Codes.GW_NOT_READY, 'the wall is still starting');
      const { token, viaCookie } = requestToken(req);
      const session = await authRef.verify(token);
      if (viaCookie && req.method !== 'GET' && req.get('x-csrf-token') !== session.csrf)
        throw new GridwatchError(Codes.GW_CSRF, 'missing or wrong X-CSRF-Token header', {
          field: 'X-CSRF-Token',
        });
      return session.actor;
    },
    routes: () => mountedRoutes(app),
    start() {
      if (closed) return Promise.reject(new ClosedError('wall'));
      started ??= setup();
      return started;
    },
    close() {
      closed ??= (async () => {
        outage.close();
        if (started) await started.catch((err: unknown) => logger.warn({ err }, 'wall had failed to start'));
        await sockets?.close();
        liveWs?.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          server.close(() => resolve());
        });
        await Promise.all(
          [redis.quit(), adapterRedis.quit()].map((p) =>
            p.catch((err: unknown) => logger.debug({ err }, 'redis quit')),
          ),
        );
      })();
      return closed;
    },
  };
}
