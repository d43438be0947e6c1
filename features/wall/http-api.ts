import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Counter } from 'prom-client';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor, AlertService } from '../../core/contracts/alert-service.js';
import type { ApiRouteGroup } from '../../core/http/api-route-doc.js';
import type { CameraDirectory, CameraStatus, RejectedEntry } from '../../core/contracts/camera-directory.js';
import type { EvidenceStore } from '../../core/contracts/evidence-store.js';
import type { FindingTypeInfo } from '../../core/contracts/finding.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import {
  Codes,
  ERROR_CATALOGUE,
  ForbiddenError,
  GridwatchError,
  NotFoundError,
  UnauthorizedError,
} from '../../core/errors.js';
import { inScope } from '../../core/grid/scope.js';
import type { Logger } from '../../core/logger.js';
import {
  AlertDetailSchema,
  AlertListQuerySchema,
  AlertPageSchema,
  CameraViewSchema,
  DeadLetterSchema,
  EvidenceParamsSchema,
  GridInfoSchema,
  GridSearchQuerySchema,
  GridTreeNodeSchema,
  IdParamsSchema,
  LiveTicketSchema,
  LoginBodySchema,
  MetaSchema,
  OkSchema,
  RejectedEntrySchema,
  SessionBodySchema,
  SuppressionSchema,
  TypeInfoSchema,
  UserViewSchema,
  type AlertLifecycleTable,
  type GridTreeNode,
} from './api-schemas.js';
import type { Session, WallAuth } from './auth.js';
import { asReplyError } from './http-errors.js';
import { buildOpenApi } from './openapi.js';
import { mapRoutes } from './map-api.js';
import type { MapTilesConfig } from './wall-config.js';
import { statsRoutes } from './stats-api.js';
import { route, type RouteDef } from './route-table.js';
import { AlertActionBodySchema } from './socket-events.js';
import { parseInput } from './validate.js';
import { AlertSchema } from '../../core/contracts/alert.js';
import { ForwardingOverviewSchema } from '../../core/contracts/forwarding.js';
import { z } from 'zod';

export const SESSION_COOKIE = 'gw_session';

export interface AdminSources {
  rejectedCameras(): RejectedEntry[];
  plugins(): unknown[];
}

export interface HttpApiDeps {
  auth: WallAuth;
  alerts: AlertService;
  cameras: CameraDirectory;
  grids: () => GridIndex;
  evidence: EvidenceStore;
  typeInfos: () => FindingTypeInfo[];
  /** The alert state machine (from the dispatcher, through the composition). */
  lifecycle: AlertLifecycleTable;
  timeZone: string;
  /** Background tiles of the map, when configured (served in /meta). */
  mapTiles?: MapTilesConfig | null;
  /** Optional features mounted beside the wall (served in /meta), e.g. ['workers']. */
  features?: string[];
  /** Route lists of the routers mounted beside this one, for the OpenAPI document. */
  docs?: readonly ApiRouteGroup[];
  details: () => Promise<object>;
  admin: AdminSources;
  /** Ends the session's sockets on every gateway process. */
  onLogout(session: Session): void;
  secureCookie: boolean;
  logger: Logger;
  requests: Counter<'route' | 'status'>;
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    try {
      out[k] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      // A cookie that is not valid percent-encoding is not one of ours: ignore it.
      continue;
    }
  }
  return out;
}

/** The token a request carries, and whether it came from the cookie (then CSRF applies). */
export function requestToken(req: Pick<Request, 'headers'>): {
  token: string | undefined;
  viaCookie: boolean;
} {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return { token: h.slice(7).trim(), viaCookie: false };
  const c = parseCookies(req.headers.cookie)[SESSION_COOKIE];
  return { token: c, viaCookie: c !== undefined };
}

/** Builds the route table of /api/v1 (also the source of the OpenAPI document). */
export function apiRoutes(d: HttpApiDeps): RouteDef[] {
  const need = (s: Session | null): Actor => {
    if (!s) throw new UnauthorizedError();
    return s.actor;
  };
  const alertInScope = async (id: string, actor: Actor): Promise<Alert> => {
    const a = await d.alerts.get(id, actor);
    // The service checks scope too; checking here as well means a service bug cannot leak.
    // Out of scope reads as not found, as in the service: another county's ids do not exist.
    if (!inScope(actor, a, d.grids())) throw new NotFoundError('alert', id);
    return a;
  };
  const cameraView = (c: CameraStatus): z.infer<typeof CameraViewSchema> => {
    const county = c.gridCode
      ? d
          .grids()
          .path(c.gridCode)
          .find((g) => g.level === 'county')
      : undefined;
    return {
      id: c.id,
      name: c.name,
      ...(c.deviceId === undefined ? {} : { deviceId: c.deviceId }),
      gridCode: c.gridCode,
      sourceKind: c.sourceKind,
      state: c.state,
      reason: c.reason,
      since: c.since,
      lastFrameAt: c.lastFrameAt,
      framesSampled: c.framesSampled,
      restarts: c.restarts,
      lagP95Ms: c.lagP95Ms,
      ...(c.ingest === undefined ? {} : { ingest: c.ingest }),
      county: county ? { code: county.code, name: county.name } : null,
    };
  };
  const cameraInScope = (id: string, actor: Actor): CameraStatus => {
    const c = d.cameras.get(id);
    if (!c) throw new NotFoundError('camera', id);
    if (!inScope(actor, c, d.grids())) throw new ForbiddenError(`camera ${id} is outside your scope`);
    return c;
  };
  const tree = (code: string): GridTreeNode | null => {
    const g = d.grids().get(code);
    if (!g) return null;
    return {
      code: g.code,
      name: g.name,
      level: g.level,
      children: d
        .grids()
        .children(code)
        .map((c) => tree(c.code))
        .filter((n): n is GridTreeNode => n !== null),
    };
  };
  const sessionBody = (s: Session, token?: string) => ({
    user: s.actor,
    scopeName: d.grids().get(s.actor.scope)?.name ?? s.actor.scope,
    csrfToken: s.csrf,
    ...(token ? { token } : {}),
    expiresAt: s.expiresAt,
  });

  // The catalogue does not change at run time: the texts are built once.
  const errorTexts = Object.fromEntries(
    Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, { zh: e.zh, en: e.en }]),
  );

  return [
    route({
      method: 'get',
      path: '/meta',
      summary:
        'Constants for the page: finding types, alert states and their actions, open states, error texts, time zone',
      tag: 'meta',
      // Public: the login page needs the error texts; nothing here is specific to a user or a grid.
      access: 'public',
      response: MetaSchema,
      async handler() {
        return {
          findingTypes: d.typeInfos(),
          states: d.lifecycle.states,
          actions: d.lifecycle.actions,
          openStates: d.lifecycle.openStates,
          errors: errorTexts,
          timeZone: d.timeZone,
          versionedActions: true as const,
          mapTiles: d.mapTiles ?? null,
          ...(d.features?.length ? { features: d.features } : {}),
        };
      },
    }),
    route({
      method: 'post',
      path: '/session',
      summary: 'Log in (rate-limited per user and address)',
      tag: 'session',
      access: 'public',
      body: LoginBodySchema,
      response: SessionBodySchema,
      async handler({ req, res, body }) {
        const { token, session } = await d.auth.login(body.username, body.password, req.ip ?? 'unknown');
        res.cookie(SESSION_COOKIE, token, {
          httpOnly: true,
          sameSite: 'strict',
          secure: d.secureCookie,
          path: '/',
          expires: new Date(session.expiresAt),
        });
        return sessionBody(session, token);
      },
    }),
    route({
      method: 'get',
      path: '/session',
      summary: 'Current session and CSRF token',
      tag: 'session',
      access: 'any',
      response: SessionBodySchema,
      async handler({ session }) {
        return sessionBody(session as Session);
      },
    }),
    route({
      method: 'delete',
      path: '/session',
      summary: 'Log out: ends the session and its live sockets',
      tag: 'session',
      access: 'any',
      response: OkSchema,
      async handler({ req, res }) {
        const s = await d.auth.logout(requestToken(req).token ?? '');
        if (s) d.onLogout(s);
        res.clearCookie(SESSION_COOKIE, { path: '/' });
        return { ok: true };
      },
    }),
    route({
      method: 'get',
      path: '/alerts',
      summary: 'Alerts in your scope, newest first, with filters and paging',
      tag: 'alerts',
      access: 'any',
      query: AlertListQuerySchema,
      response: AlertPageSchema,
      async handler({ session, query }) {
        const actor = need(session);
        if (query.gridCode && !inScope(actor, { gridCode: query.gridCode }, d.grids())) {
          throw new ForbiddenError(`grid ${query.gridCode} is outside your scope`);
        }
        const page = await d.alerts.list({
          scope: query.gridCode ?? actor.scope,
          ...(query.type ? { types: query.type } : {}),
          ...(query.state ? { states: query.state } : {}),
          ...(query.cameraId ? { cameraId: query.cameraId } : {}),
          ...(query.from === undefined ? {} : { from: query.from }),
          ...(query.to === undefined ? {} : { to: query.to }),
          ...(query.q ? { text: query.q } : {}),
          limit: query.limit,
          ...(query.cursor ? { cursor: query.cursor } : {}),
        });
        const grids = d.grids();
        const items = page.items.filter((a) => inScope(actor, a, grids));
        return { ...page, items };
      },
    }),
    route({
      method: 'get',
      path: '/alerts/:id',
      summary: 'One alert with its audit trail',
      tag: 'alerts',
      access: 'any',
      params: IdParamsSchema,
      response: AlertDetailSchema,
      async handler({ session, params }) {
        const actor = need(session);
        const alert = await alertInScope(params.id, actor);
        return { alert, audit: await d.alerts.audit(params.id, actor) };
      },
    }),
    route({
      method: 'post',
      path: '/alerts/:id/actions',
      summary: 'Claim, release, confirm, reject (with reason), escalate, or add a note',
      tag: 'alerts',
      access: 'operator',
      params: IdParamsSchema,
      body: AlertActionBodySchema,
      response: AlertSchema,
      async handler({ session, params, body }) {
        const actor = need(session);
        await alertInScope(params.id, actor);
        const { version, ...act } = body;
        return d.alerts.act(params.id, act, actor, version);
      },
    }),
    route({
      method: 'get',
      path: '/alerts/:id/evidence/:which',
      summary: 'Evidence JPEG (boxes and zone drawn) of an alert in scope',
      tag: 'alerts',
      access: 'any',
      params: EvidenceParamsSchema,
      produces: 'image/jpeg',
      async handler({ session, params, res }) {
        const alert = await alertInScope(params.id, need(session));
        const rel = alert.evidence[params.which] ?? alert.evidence.latest ?? alert.evidence.first;
        if (!rel) throw new NotFoundError('evidence of alert', params.id);
        const jpeg = await d.evidence.read(rel);
        res.setHeader('Cache-Control', 'private, max-age=3600');
        res.type('image/jpeg').send(jpeg);
        return undefined;
      },
    }),
    route({
      method: 'get',
      path: '/cameras',
      summary: 'Cameras in your scope with state and reason',
      tag: 'cameras',
      access: 'any',
      response: z.array(CameraViewSchema),
      async handler({ session }) {
        const actor = need(session);
        return d.cameras
          .list()
          .filter((c) => inScope(actor, c, d.grids()))
          .map(cameraView);
      },
    }),
    route({
      method: 'get',
      path: '/cameras/:id',
      summary: 'One camera',
      tag: 'cameras',
      access: 'any',
      params: IdParamsSchema,
      response: CameraViewSchema,
      async handler({ session, params }) {
        return cameraView(cameraInScope(params.id, need(session)));
      },
    }),
    route({
      method: 'get',
      path: '/cameras/:id/frame',
      summary: 'Latest sampled frame (JPEG)',
      tag: 'cameras',
      access: 'any',
      params: IdParamsSchema,
      produces: 'image/jpeg',
      async handler({ session, params, res }) {
        cameraInScope(params.id, need(session));
        const jpeg = d.cameras.lastFrame(params.id);
        if (!jpeg) throw new NotFoundError('frame of camera', params.id);
        res.setHeader('Cache-Control', 'no-store');
        res.type('image/jpeg').send(Buffer.from(jpeg));
        return undefined;
      },
    }),
    route({
      method: 'post',
      path: '/cameras/:id/live',
      summary: 'Start live view: short-lived FLV URLs without credentials',
      tag: 'cameras',
      access: 'any',
      params: IdParamsSchema,
      response: LiveTicketSchema,
      async handler({ session, params }) {
        cameraInScope(params.id, need(session));
        return d.cameras.startLiveView(params.id);
      },
    }),
    route({
      method: 'get',
      path: '/grids',
      summary: 'Grid tree of your scope',
      tag: 'grids',
      access: 'any',
      response: GridTreeNodeSchema,
      async handler({ session }) {
        const actor = need(session);
        const t = tree(actor.scope);
        if (!t) throw new NotFoundError('grid', actor.scope);
        return t;
      },
    }),
    route({
      method: 'get',
      path: '/grids/search',
      summary: 'Search grids in your scope by code or name',
      tag: 'grids',
      access: 'any',
      query: GridSearchQuerySchema,
      response: z.array(GridInfoSchema),
      async handler({ session, query }) {
        const actor = need(session);
        const g = d.grids();
        return g
          .search(query.q, query.limit * 4)
          .filter((x) => inScope(actor, { gridCode: x.code }, g))
          .slice(0, query.limit)
          .map((x) => ({ ...x, path: g.path(x.code).map((p) => ({ code: p.code, name: p.name })) }));
      },
    }),
    route({
      method: 'get',
      path: '/types',
      summary: 'Finding types with labels, colours and icons',
      tag: 'alerts',
      access: 'any',
      response: z.array(TypeInfoSchema),
      async handler() {
        return d.typeInfos();
      },
    }),
    route({
      method: 'get',
      path: '/admin/health',
      summary: 'Health details',
      tag: 'admin',
      access: 'admin',
      response: z.record(z.string(), z.unknown()),
      async handler() {
        return d.details();
      },
    }),
    route({
      method: 'get',
      path: '/admin/rejected-cameras',
      summary: 'Camera config entries rejected at load, with their errors',
      tag: 'admin',
      access: 'admin',
      response: z.array(RejectedEntrySchema),
      async handler() {
        return d.admin.rejectedCameras();
      },
    }),
    route({
      method: 'get',
      path: '/admin/suppressions',
      summary: 'Suppressions from operator feedback',
      tag: 'admin',
      access: 'admin',
      response: z.array(SuppressionSchema),
      async handler() {
        return d.alerts.suppressions();
      },
    }),
    route({
      method: 'delete',
      path: '/admin/suppressions/:id',
      summary: 'Undo a suppression',
      tag: 'admin',
      access: 'admin',
      params: IdParamsSchema,
      response: OkSchema,
      async handler({ session, params }) {
        await d.alerts.liftSuppression(params.id, need(session));
        return { ok: true };
      },
    }),
    route({
      method: 'get',
      path: '/admin/dead-letters',
      summary: 'Forwards that ran out of attempts',
      tag: 'admin',
      access: 'admin',
      response: z.array(DeadLetterSchema),
      async handler() {
        return d.alerts.deadLetters();
      },
    }),
    route({
      method: 'get',
      path: '/admin/forwarding',
      summary:
        'Forwarding targets with backlog, dead letters and last failure; confirmed alerts no target takes',
      tag: 'admin',
      access: 'admin',
      response: ForwardingOverviewSchema,
      async handler({ session }) {
        return d.alerts.forwardingOverview(need(session));
      },
    }),
    route({
      method: 'post',
      path: '/admin/dead-letters/:id/retry',
      summary: 'Retry a dead-lettered forward',
      tag: 'admin',
      access: 'admin',
      params: IdParamsSchema,
      response: OkSchema,
      async handler({ session, params }) {
        await d.alerts.retryDeadLetter(params.id, need(session));
        return { ok: true };
      },
    }),
    route({
      method: 'get',
      path: '/admin/users',
      summary: 'Wall users (without password hashes)',
      tag: 'admin',
      access: 'admin',
      response: z.array(UserViewSchema),
      async handler() {
        return d.auth.users();
      },
    }),
    route({
      method: 'get',
      path: '/admin/plugins',
      summary: 'Detector plugins',
      tag: 'admin',
      access: 'admin',
      response: z.array(z.unknown()),
      async handler() {
        return d.admin.plugins();
      },
    }),
    ...mapRoutes({
      grids: d.grids,
      alerts: d.alerts,
      cameras: d.cameras,
      openStates: d.lifecycle.openStates,
      need,
    }),
    ...statsRoutes({
      grids: d.grids,
      alerts: d.alerts,
      openStates: d.lifecycle.openStates,
      timeZone: d.timeZone,
      need,
    }),
  ];
}

/**
 * Express router for /api/v1: auth, role and CSRF checks, validation. Errors go on to the
 * wall's one error handler (http-errors.ts), which answers them as catalogue JSON.
 */
export function createApiRouter(d: HttpApiDeps, version: string): Router {
  const router = express.Router();
  const routes = apiRoutes(d);
  const openapi = buildOpenApi(routes, version, d.docs ?? []);
  router.use(express.json({ limit: '64kb', strict: true }));
  router.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  for (const r of routes) {
    router[r.method](r.path, async (req: Request, res: Response, next: NextFunction) => {
      const label = `${r.method.toUpperCase()} ${r.path}`;
      const source = `${req.method} ${req.baseUrl}${r.path}`;
      try {
        let session: Session | null = null;
        if (r.access !== 'public') {
          const { token, viaCookie } = requestToken(req);
          session = await d.auth.verify(token);
          if (viaCookie && r.method !== 'get' && req.get('x-csrf-token') !== session.csrf) {
            throw new GridwatchError(Codes.GW_CSRF, 'missing or wrong X-CSRF-Token header', {
              field: 'X-CSRF-Token',
            });
          }
          const role = session.actor.role;
          if (r.access === 'admin' && role !== 'admin') throw new ForbiddenError('admin only');
          if (r.access === 'operator' && role === 'viewer')
            throw new ForbiddenError('viewers cannot act on alerts');
        }
        const params = r.params ? parseInput(r.params, req.params, `${source} params`) : undefined;
        const query = r.query
          ? parseInput(r.query, { ...(req.query as object) }, `${source} query`)
          : undefined;
        if (r.body && (req.body === undefined || !req.is('application/json'))) {
          throw new GridwatchError(
            Codes.GW_UNSUPPORTED_MEDIA_TYPE,
            `${source}: body must be JSON (Content-Type: application/json)`,
            { field: '(body)' },
          );
        }
        const body = r.body ? parseInput(r.body, req.body, `${source} body`) : undefined;
        const out = await r.handler({ req, res, session, params, query, body });
        if (!res.headersSent) res.json(out);
        d.requests.inc({ route: label, status: String(res.statusCode) });
      } catch (err) {
        d.requests.inc({ route: label, status: String(asReplyError(err).error.status) });
        next(err);
      }
    });
  }
  router.use((req, _res, next) => {
    next(new NotFoundError('route', `${req.method} ${req.baseUrl}${req.path}`));
  });
  return router;
}
