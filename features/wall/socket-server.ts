import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import { Gauge, Counter, type Registry } from 'prom-client';
import { Server, type Socket } from 'socket.io';
import type { Alert } from '../../core/contracts/alert.js';
import type { AlertNotifier, AlertService, Suppression } from '../../core/contracts/alert-service.js';
import type { CameraDirectory, CameraStatus } from '../../core/contracts/camera-directory.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { RedisOutageLog } from '../../core/redis/redis-outage-log.js';
import { isRedisUnavailable } from '../../core/redis/redis-unavailable.js';
import {
  Codes,
  ForbiddenError,
  GridwatchError,
  NotFoundError,
  UnauthorizedError,
} from '../../core/errors.js';
import { inScope, scopeGrids, type ScopeTarget } from '../../core/grid/scope.js';
import type { Logger } from '../../core/logger.js';
import { redisUnavailableAs } from '../../core/redis/redis-unavailable.js';
import type { Session, WallAuth } from './auth.js';
import { parseCookies, SESSION_COOKIE } from './http-api.js';
import {
  ClientPayloadSchemas,
  roomForGrid,
  roomForSession,
  WALL_PROTOCOL,
  type Ack,
  type ClientToServerEvents,
  type InterServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from './socket-events.js';
import { parseInput } from './validate.js';

type WallServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type WallSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

const ADMIN_ROOM = 'role:admin';

export interface WallSocketServer {
  io: WallServer;
  notifier: AlertNotifier;
  endSession(s: Session, reason: 'logout' | 'expired'): void;
  close(): Promise<void>;
}

function ackError(raw: unknown): Ack<never> {
  const err = redisUnavailableAs(raw);
  if (err instanceof GridwatchError) {
    return {
      ok: false,
      error: {
        code: err.code,
        message: err.message,
        ...(err.field === undefined ? {} : { field: err.field }),
      },
    };
  }
  return { ok: false, error: { code: Codes.GW_INTERNAL, message: 'internal error (see the gateway log)' } };
}

/**
 * The redis-streams adapter subscribes on a duplicate of our client and drops the promise
 * (adapter.js, SUBSCRIBE in util.js): a wall closed while that SUBSCRIBE is in flight gets an
 * unhandled "Connection is closed" rejection, which ends the process. Handle it here: expected
 * (debug) once the duplicate is closing, a warning otherwise, since the wall then gets no
 * cross-process broadcasts.
 */
function handledSubscribe(redis: Redis, logger: Logger, outage?: RedisOutageLog): Redis {
  // The wall gives the adapter a client of its own (gw-wall-adapter), so patching its
  // duplicate() touches nothing else.
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (...args: Parameters<Redis['duplicate']>) => {
    const sub = duplicate(...args);
    const subscribe = sub.subscribe.bind(sub) as (...a: unknown[]) => Promise<unknown>;
    sub.subscribe = ((...a: unknown[]) => {
      const p = subscribe(...a);
      p.catch((err: unknown) => {
        const msg = 'socket adapter subscribe failed: no cross-process broadcasts';
        if (sub.status === 'end' || sub.status === 'close')
          logger.debug({ err }, 'socket adapter subscribe ended by close');
        // Redis away: one more error of the outage the wall already reported (ioredis subscribes
        // again when the connection is back), not a line of its own.
        else if (outage && isRedisUnavailable(err)) outage.error(err, {}, msg);
        else logger.warn({ err }, msg);
      });
      return p;
    }) as Redis['subscribe'];
    return sub;
  };
  return redis;
}

/**
 * Socket.IO for walls. Rooms by grid code: a socket joins the room of its scope (or a
 * narrower focus), and an alert is sent to the rooms of its grid and every ancestor, so the
 * room set does the scope check for broadcasts. The redis-streams adapter makes rooms and
 * connection-state recovery work across gateway processes.
 */
export function createWallSocketServer(opts: {
  httpServer: HttpServer;
  redis: Redis;
  auth: WallAuth;
  alerts: AlertService;
  cameras: CameraDirectory;
  grids: () => GridIndex;
  logger: Logger;
  registry: Registry;
  /** Browsers must come from one of these origins when authenticating by cookie. */
  allowedOrigins: (hostHeader: string | undefined) => string[];
  recoveryMs?: number;
  /** The wall's outage log: a subscribe refused because Redis is away is counted there. */
  outage?: RedisOutageLog;
}): WallSocketServer {
  const { auth, alerts, logger } = opts;
  const io: WallServer = new Server(opts.httpServer, {
    serveClient: true,
    adapter: createAdapter(handledSubscribe(opts.redis, logger, opts.outage), {
      streamName: 'gw:wall:socket.io',
      maxLen: 50_000,
    }),
    connectionStateRecovery: { maxDisconnectionDuration: opts.recoveryMs ?? 120_000, skipMiddlewares: false },
    maxHttpBufferSize: 64 * 1024,
    // Other upgrades (the live WebSocket streams) are answered by the wall's own upgrade handler,
    // which also ends the ones nobody serves (create-wall.ts).
    destroyUpgrade: false,
  });
  const connected = new Gauge({
    name: 'gridwatch_wall_sockets',
    help: 'Wall sockets connected to this process',
    registers: [opts.registry],
    collect() {
      this.set(io.of('/').sockets.size);
    },
  });
  const events = new Counter({
    name: 'gridwatch_wall_socket_events_total',
    help: 'Socket events from walls by event and result',
    labelNames: ['event', 'result'] as const,
    registers: [opts.registry],
  });
  const emits = new Counter({
    name: 'gridwatch_wall_alert_broadcasts_total',
    help: 'Alert changes broadcast to walls',
    labelNames: ['kind'] as const,
    registers: [opts.registry],
  });
  void connected;
  const expiryTimers = new Map<string, NodeJS.Timeout>();

  io.use((socket, next) => {
    const run = async (): Promise<void> => {
      const explicit = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      const proto = (socket.handshake.auth as { protocol?: unknown } | undefined)?.protocol;
      if (proto !== undefined && proto !== WALL_PROTOCOL) {
        throw new GridwatchError(
          Codes.GW_PROTOCOL,
          `wall protocol ${String(proto)} not supported; server speaks ${WALL_PROTOCOL}`,
        );
      }
      let token: string | undefined;
      if (typeof explicit === 'string') token = explicit;
      else {
        token = parseCookies(socket.handshake.headers.cookie)[SESSION_COOKIE];
        // Cookies ride along on cross-site WebSocket requests; only our own pages may use them.
        const origin = socket.handshake.headers.origin;
        if (
          token &&
          origin !== undefined &&
          !opts.allowedOrigins(socket.handshake.headers.host).includes(origin)
        ) {
          throw new ForbiddenError(`origin ${origin} not allowed`);
        }
      }
      const s = await auth.verify(token);
      socket.data.sid = s.sid;
      socket.data.actor = s.actor;
      socket.data.expiresAt = s.expiresAt;
      socket.data.focus ??= null;
    };
    run().then(
      () => next(),
      (err: unknown) => {
        const e = err instanceof GridwatchError ? err : new UnauthorizedError('session check failed');
        if (!(err instanceof GridwatchError)) logger.error({ err }, 'socket auth failed');
        const out = new Error(e.message) as Error & { data?: unknown };
        out.data = e.toJSON();
        next(out);
      },
    );
  });

  // With connection-state recovery on, socket.emit goes through the adapter (Redis) to record
  // its offset; a direct disconnect would overtake it. Sending both through the adapter keeps
  // them in order.
  function endSocket(socket: WallSocket): void {
    io.to(socket.id).emit('session:ended', { reason: 'expired' });
    io.in(socket.id).disconnectSockets();
  }

  function joinScope(socket: WallSocket): void {
    const { actor, focus } = socket.data;
    for (const r of socket.rooms) if (r.startsWith('grid:')) void socket.leave(r);
    void socket.join([roomForGrid(focus ?? actor.scope), roomForSession(socket.data.sid)]);
    if (actor.role === 'admin') void socket.join(ADMIN_ROOM);
  }

  function handle<K extends keyof typeof ClientPayloadSchemas, T>(
    socket: WallSocket,
    event: K,
    fn: (payload: ReturnType<(typeof ClientPayloadSchemas)[K]['parse']>) => Promise<T>,
  ): void {
    // Socket.IO's typed `on` cannot express "every event has an ack" generically.
    (socket as unknown as { on(e: string, l: (p: unknown, ack: unknown) => void): void }).on(
      event,
      (payload, ack) => {
        const reply = typeof ack === 'function' ? (ack as (r: Ack<T>) => void) : null;
        const run = async (): Promise<T> => {
          if (Date.now() >= socket.data.expiresAt) {
            endSocket(socket);
            throw new UnauthorizedError('session expired');
          }
          const p = parseInput(ClientPayloadSchemas[event], payload, `socket event ${event}`);
          return fn(p as ReturnType<(typeof ClientPayloadSchemas)[K]['parse']>);
        };
        run().then(
          (data) => {
            events.inc({ event, result: 'ok' });
            reply?.({ ok: true, data });
          },
          (err: unknown) => {
            events.inc({ event, result: err instanceof GridwatchError ? err.code : Codes.GW_INTERNAL });
            if (!(err instanceof GridwatchError) || err.status >= 500)
              logger.error({ err, event }, 'socket event failed');
            reply?.(ackError(err));
          },
        );
      },
    );
  }

  io.on('connection', (socket) => {
    const { actor } = socket.data;
    if (!socket.recovered) joinScope(socket);
    const left = socket.data.expiresAt - Date.now();
    const timer = setTimeout(
      () => {
        endSocket(socket);
      },
      Math.min(Math.max(left, 0), 2 ** 31 - 1),
    );
    expiryTimers.set(socket.id, timer);
    socket.on('disconnect', () => {
      clearTimeout(expiryTimers.get(socket.id));
      expiryTimers.delete(socket.id);
    });
    socket.emit('wall:hello', {
      protocol: WALL_PROTOCOL,
      user: actor,
      recovered: socket.recovered,
      serverTime: Date.now(),
    });

    handle(socket, 'alert:act', async ({ id, act, version }) => {
      if (actor.role === 'viewer') throw new ForbiddenError('viewers cannot act on alerts');
      const a = await alerts.get(id, actor);
      // The service checks too; this one means a service bug cannot leak (not found, as there).
      if (!inScope(actor, a, opts.grids())) throw new NotFoundError('alert', id);
      return alerts.act(id, act, actor, version);
    });

    handle(socket, 'alerts:sync', async ({ since, limit }) => {
      const scope = socket.data.focus ?? actor.scope;
      const page = await alerts.list({ scope, limit });
      const grids = opts.grids();
      const items = page.items.filter((a) => a.updatedAt > since && inScope(actor, a, grids));
      // Complete when the page reached back past `since` or there is nothing older.
      const complete = page.nextCursor === null || page.items.some((a) => a.updatedAt <= since);
      return { items, complete };
    });

    handle(socket, 'wall:focus', async ({ gridCode }) => {
      if (gridCode !== null && !inScope(actor, { gridCode }, opts.grids())) {
        throw new ForbiddenError(`grid ${gridCode} is outside your scope`);
      }
      socket.data.focus = gridCode;
      joinScope(socket);
      return { rooms: [...socket.rooms].filter((r) => r.startsWith('grid:')) };
    });
  });

  // The rooms of every grid whose users may see the target: the same rule as inScope.
  const roomsFor = (target: ScopeTarget): string[] => scopeGrids(target, opts.grids()).map(roomForGrid);

  const unsubscribe = opts.cameras.onState((s: CameraStatus) => {
    const rooms = roomsFor(s);
    io.to(rooms.length ? rooms : [ADMIN_ROOM]).emit('camera:state', s);
  });

  const notifier: AlertNotifier = {
    alertChanged(alert: Alert, kind) {
      const rooms = roomsFor(alert);
      if (!rooms.length) {
        logger.warn(
          { alertId: alert.id, gridCode: alert.gridCode },
          'alert has no grid path: shown to admins only',
        );
      }
      emits.inc({ kind });
      io.to(rooms.length ? rooms : [ADMIN_ROOM]).emit(kind === 'new' ? 'alert:new' : 'alert:update', alert);
    },
    suppressionChanged(s: Suppression, kind) {
      io.to(ADMIN_ROOM).emit('suppression:changed', { suppression: s, kind });
    },
  };

  let closing: Promise<void> | null = null;
  return {
    io,
    notifier,
    endSession(s, reason) {
      io.to(roomForSession(s.sid)).emit('session:ended', { reason });
      io.in(roomForSession(s.sid)).disconnectSockets();
    },
    close() {
      closing ??= (async () => {
        unsubscribe();
        for (const t of expiryTimers.values()) clearTimeout(t);
        expiryTimers.clear();
        await new Promise<void>((resolve) => {
          void io.close(() => resolve());
        });
      })();
      return closing;
    },
  };
}
