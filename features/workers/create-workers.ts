import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';
import { Counter, type Registry } from 'prom-client';
import type { z } from 'zod';
import { ALERT_STATES, type Alert, type AlertState } from '../../core/contracts/alert.js';
import type { Actor, AlertService } from '../../core/contracts/alert-service.js';
import { ALERT_STATE_TABLE, OPEN_STATES } from '../../core/contracts/alert-states.js';
import type { EvidenceStore } from '../../core/contracts/evidence-store.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { createWatchedConfigFile, type WatchedConfigFile } from '../../core/config/watched-config-file.js';
import { zodIssues } from '../../core/config/zod-issues.js';
import { cleanPhoto } from '../../core/evidence/photo-evidence.js';
import {
  Codes,
  ConflictError,
  ForbiddenError,
  GridwatchError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
} from '../../core/errors.js';
import { inScope, scopeGrids } from '../../core/grid/scope.js';
import type { Logger } from '../../core/logger.js';
import { parseMultipart } from '../../core/http/multipart.js';
import { checkRoster, responsibleFor, workerView } from './roster.js';
import { workerStats, type WorkerStatsReply } from './worker-stats.js';
import {
  DispatchBodySchema,
  DisposalFieldsSchema,
  WorkersFileSchema,
  type Worker,
  type WorkersConfig,
  type WorkersFile,
} from './workers-config.js';

const HERE = dirname(fileURLToPath(import.meta.url));
// `npm run build` copies public/ next to the compiled module (scripts/copy-assets.ts).
const PUBLIC_DIR = join(HERE, 'public');

export interface WorkersDeps {
  config: WorkersConfig;
  /** gateway.yaml's folder: the roster file is relative to it. */
  baseDir: string;
  alerts: AlertService;
  grids: () => GridIndex;
  evidence: EvidenceStore;
  /** The wall user of a request (the wall's session and CSRF check). */
  actorOf: (req: Request) => Promise<Actor>;
  clock?: () => number;
  watch?: boolean;
  logger: Logger;
  metrics: Registry;
}

export interface Workers {
  /** Mount at /api/v1/workers (before the wall's /api/v1 router). */
  router: Router;
  /** The worker page; mount at /m. */
  page: Router;
  readonly roster: WatchedConfigFile<WorkersFile>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** One task as the worker page shows it. */
export interface TaskView {
  id: string;
  version: number;
  state: AlertState;
  stateZh: string;
  type: string;
  typeZh: string;
  gridCode: string;
  gridName: string;
  place: string;
  summary: string | null;
  firstSeen: number;
  assignedToMe: boolean;
  assignment: Alert['assignment'];
  disposal: Alert['disposal'];
  recheck: Alert['recheck'];
  /** Re-check found the problem still there after this worker's disposal: waiting to be dispatched again. */
  reopened: boolean;
}

/**
 * States in which a task stays on the worker's list: the open ones from confirmed on (the
 * platform part of the lifecycle), from the one state table; a confirmed one only when the
 * re-check reopened it after a disposal.
 */
const LISTED: AlertState[] = [...OPEN_STATES].filter(
  (s) => ALERT_STATES.indexOf(s) >= ALERT_STATES.indexOf('confirmed'),
);

export function createWorkers(d: WorkersDeps): Workers {
  const logger = d.logger.child({ component: 'workers' });
  const clock = d.clock ?? Date.now;
  if (!d.config.file) throw new GridwatchError(Codes.GW_CONFIG_INVALID, 'workers.file is not set');
  const path = isAbsolute(d.config.file) ? d.config.file : join(d.baseDir, d.config.file);
  const steps = new Counter({
    name: 'gridwatch_worker_steps_total',
    help: 'Grid-worker steps by kind (dispatched, disposal, refused)',
    labelNames: ['step'],
    registers: [d.metrics],
  });
  const roster = createWatchedConfigFile({
    file: path,
    schema: WorkersFileSchema,
    check: (v, locate) => checkRoster(path, v, locate, d.grids()),
    logger,
    ...(d.watch !== undefined ? { watch: d.watch } : {}),
  });

  const parse = <S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> => {
    const p = schema.safeParse(body ?? {});
    if (!p.success) throw new ValidationError(what, zodIssues(what, p.error, body));
    return p.data;
  };
  const idOf = (req: Request) => {
    const id = String(req.params.alertId);
    if (!/^[A-Za-z0-9:_.-]{1,200}$/.test(id)) throw new NotFoundError('alert', id.slice(0, 200));
    return id;
  };
  const active = () => roster.current().workers.filter((w) => w.active);

  /** The roster entry of a logged-in wall user; 403 for a user who is not a grid worker. */
  async function workerOf(req: Request): Promise<{ actor: Actor; worker: Worker }> {
    const actor = await d.actorOf(req);
    const worker = active().find((w) => w.account === actor.username);
    if (!worker)
      throw new ForbiddenError(`${actor.username} is not a grid worker in the roster (workers.yaml account)`);
    return { actor, worker };
  }

  /** The worker acting in one of their grids: the alert service checks the alert is under it. */
  const workerActor = (w: Worker, gridCode: string): Actor => ({
    username: `worker:${w.id}`,
    displayName: w.name,
    role: 'operator',
    scope: gridCode,
  });

  /** The alert, when it lies in one of the worker's grids; with that grid. Else not found. */
  async function alertOfWorker(id: string, w: Worker): Promise<{ alert: Alert; gridCode: string }> {
    for (const g of w.grids) {
      try {
        return { alert: await d.alerts.get(id, workerActor(w, g)), gridCode: g };
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    throw new NotFoundError('alert', id);
  }

  function taskView(a: Alert, w: Worker): TaskView {
    const grid = a.gridPath.at(-1);
    const mine = a.assignment?.workerId === w.id;
    return {
      id: a.id,
      version: a.version,
      state: a.state,
      stateZh: ALERT_STATE_TABLE[a.state].zh,
      type: a.type,
      typeZh: a.typeLabel.zh,
      gridCode: a.gridCode,
      gridName: grid?.name ?? a.gridCode,
      place: a.source ? a.source.name : a.cameraName,
      summary: a.source?.summary ?? null,
      firstSeen: a.firstSeen,
      assignedToMe: mine,
      assignment: a.assignment ?? null,
      disposal: a.disposal ?? null,
      recheck: a.recheck ?? null,
      reopened: a.state === 'confirmed' && a.recheck?.present === true && a.disposal?.workerId === w.id,
    };
  }

  /**
   * Whether an alert was dispatched to this worker through the wall: by name, or to the team of a
   * grid the worker is in. A platform dispatch (no assignment) or another grid's team is not.
   */
  const dispatchedTo = (a: Alert, w: Worker): boolean =>
    !!a.assignment &&
    (a.assignment.workerId === null
      ? w.grids.includes(a.assignment.gridCode)
      : a.assignment.workerId === w.id);

  /** The worker's tasks: alerts of their grids dispatched to them or to the grid's team. */
  async function tasksOf(w: Worker): Promise<TaskView[]> {
    const seen = new Map<string, Alert>();
    for (const g of w.grids) {
      const page = await d.alerts.list({ scope: g, states: LISTED, limit: 200 });
      for (const a of page.items) {
        if (!dispatchedTo(a, w)) continue; // a colleague's, another team's, or never dispatched here
        if (a.state === 'confirmed' && !(a.recheck?.present && a.disposal)) continue;
        seen.set(a.id, a);
      }
    }
    const order = (t: TaskView) => (t.state === 'dispatched' ? 0 : t.reopened ? 1 : 2);
    return [...seen.values()]
      .map((a) => taskView(a, w))
      .sort((x, y) => order(x) - order(y) || y.firstSeen - x.firstSeen);
  }

  async function readBody(req: Request, limit: number, what: string): Promise<Buffer> {
    const tooLarge = () =>
      new GridwatchError(Codes.GW_BODY_TOO_LARGE, `${what}: body larger than ${limit} bytes`, {
        field: '(body)',
      });
    if (Number(req.get('content-length') ?? 0) > limit) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > limit) {
        req.resume();
        throw tooLarge();
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  // ---- routes -------------------------------------------------------------------------------
  const router = express.Router();
  const json = express.json({ limit: '16kb', strict: true });

  router.get('/roster', async (req: Request, res: Response) => {
    const actor = await d.actorOf(req);
    const grids = d.grids();
    const admin = actor.role === 'admin';
    const workers = active()
      .filter((w) => w.grids.some((g) => inScope(actor, { gridCode: g }, grids)))
      .map((w) => workerView(w, admin));
    res.json({ workers });
  });

  router.get('/responsible/:alertId', async (req: Request, res: Response) => {
    const actor = await d.actorOf(req);
    const a = await d.alerts.get(idOf(req), actor);
    if (!inScope(actor, a, d.grids())) throw new NotFoundError('alert', a.id);
    const r = responsibleFor(roster.current().workers, a);
    const admin = actor.role === 'admin';
    res.json({
      alertId: a.id,
      gridCode: r.gridCode,
      gridName: r.gridCode ? (d.grids().get(r.gridCode)?.name ?? r.gridCode) : null,
      workers: r.workers.map((w) => workerView(w, admin, r.gridCode ?? undefined)),
      assignment: a.assignment ?? null,
      disposal: a.disposal ?? null,
    });
  });

  // The disposal photo for the wall's detail (operators check what the worker reported).
  router.get('/disposal-photo/:alertId', async (req: Request, res: Response) => {
    const actor = await d.actorOf(req);
    const a = await d.alerts.get(idOf(req), actor);
    if (!inScope(actor, a, d.grids())) throw new NotFoundError('alert', a.id);
    if (!a.disposal?.photo) throw new NotFoundError('disposal photo of alert', a.id);
    const jpeg = await d.evidence.read(a.disposal.photo);
    res.set('cache-control', 'private, max-age=300').type('image/jpeg').send(jpeg);
  });

  router.post('/dispatch/:alertId', json, async (req: Request, res: Response) => {
    const actor = await d.actorOf(req);
    const id = idOf(req);
    // express.json leaves a body of another type unread: refused, not taken for `{}` (a team dispatch).
    const sent = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (req.body === undefined && sent)
      throw new GridwatchError(
        Codes.GW_UNSUPPORTED_MEDIA_TYPE,
        'POST /api/v1/workers/dispatch: body must be JSON (Content-Type: application/json)',
        { field: '(body)' },
      );
    const body = parse(DispatchBodySchema, req.body, 'POST /api/v1/workers/dispatch body');
    if (actor.role === 'viewer')
      throw new ForbiddenError(`${actor.username} is a viewer and cannot dispatch`);
    const a = await d.alerts.get(id, actor);
    if (a.state !== 'confirmed' && a.state !== 'forwarded')
      throw new InvalidTransitionError(a.id, a.state, 'be dispatched to a grid worker (confirm it first)');
    const path = scopeGrids(a, d.grids());
    let worker: Worker | null = null;
    let gridCode: string;
    if (body.workerId !== undefined) {
      const w = active().find((x) => x.id === body.workerId);
      const g = w?.grids.find((x) => path.includes(x));
      if (!w || !g)
        throw new GridwatchError(
          Codes.GW_VALIDATION,
          `worker ${body.workerId} is not an active worker of grid ${a.gridCode} or a grid above it`,
          { field: 'workerId' },
        );
      worker = w;
      gridCode = g;
    } else {
      const team = responsibleFor(roster.current().workers, a);
      if (!team.gridCode)
        throw new ConflictError(
          `no grid worker is responsible for grid ${a.gridCode} or a grid above it: add one to the roster`,
          { gridCode: a.gridCode },
        );
      gridCode = team.gridCode;
    }
    const gridName = d.grids().get(gridCode)?.name ?? gridCode;
    const to = worker ? `${worker.name} (${worker.id})` : `${gridName} 网格团队`;
    const alert = await d.alerts.advance(
      id,
      {
        to: 'dispatched',
        action: 'worker_dispatch',
        note: `派遣给 ${to}${body.note ? `; ${body.note}` : ''}`,
        assignment: {
          workerId: worker?.id ?? null,
          workerName: worker?.name ?? null,
          gridCode,
          at: clock(),
          by: actor.username,
        },
        ...(body.version !== undefined ? { expectedVersion: body.version } : {}),
      },
      actor,
    );
    steps.inc({ step: 'dispatched' });
    logger.info({ alertId: id, workerId: worker?.id ?? null, gridCode, by: actor.username }, 'dispatched');
    res.status(201).json({ alert });
  });

  router.get('/me', async (req: Request, res: Response) => {
    const { worker } = await workerOf(req);
    res.json({ worker: workerView(worker, false), tasks: await tasksOf(worker) });
  });

  router.get('/tasks/:alertId/evidence/:which', async (req: Request, res: Response) => {
    const { worker } = await workerOf(req);
    const which = String(req.params.which);
    if (which !== 'latest' && which !== 'first' && which !== 'disposal')
      throw new GridwatchError(
        Codes.GW_EVIDENCE_NAME,
        `unknown evidence ${which.slice(0, 20)}: latest, first or disposal`,
        {
          field: 'which',
        },
      );
    const { alert } = await alertOfWorker(idOf(req), worker);
    const rel = which === 'disposal' ? (alert.disposal?.photo ?? null) : alert.evidence[which];
    if (!rel) throw new NotFoundError('evidence', `${alert.id}/${which}`);
    const jpeg = await d.evidence.read(rel);
    res.set('cache-control', 'private, max-age=300').type('image/jpeg').send(jpeg);
  });

  router.post('/tasks/:alertId/disposal', async (req: Request, res: Response) => {
    const what = 'POST /api/v1/workers/tasks/:alertId/disposal';
    const { worker } = await workerOf(req);
    const id = idOf(req);
    const type = req.get('content-type') ?? '';
    if (!/^multipart\/form-data/i.test(type))
      throw new GridwatchError(Codes.GW_UNSUPPORTED_MEDIA_TYPE, `${what}: body must be multipart/form-data`, {
        field: '(body)',
      });
    const body = await readBody(req, d.config.photoMaxBytes + 64 * 1024, what);
    const parts = parseMultipart(body, type, what);
    const text = (name: string) =>
      parts.find((p) => p.name === name && p.filename === null)?.data.toString('utf8');
    const fields = parse(
      DisposalFieldsSchema,
      {
        ...(text('note') !== undefined ? { note: text('note') } : {}),
        ...(text('version') !== undefined ? { version: text('version') } : {}),
      },
      what,
    );
    const photo = parts.find((p) => p.name === 'photo');
    if (!photo || photo.data.length === 0)
      throw new ValidationError(what, [
        {
          source: what,
          path: 'photo',
          expected: 'a photo of the place after disposal',
          found: 'none',
          message: 'photo is required',
        },
      ]);
    const { alert, gridCode } = await alertOfWorker(id, worker);
    // The same report again (a retry after a lost reply, a double tap): it stands, nothing new
    // is stored. A different report on a handled alert is refused below (409).
    const d0 = alert.disposal;
    if (
      d0 &&
      d0.workerId === worker.id &&
      d0.note === fields.note &&
      alert.assignment &&
      d0.at >= alert.assignment.at &&
      (alert.state === 'handled' || alert.state === 'verified' || alert.state === 'closed')
    ) {
      res.status(200).json({ task: taskView(alert, worker) });
      return;
    }
    if (!dispatchedTo(alert, worker))
      throw new ForbiddenError(
        alert.assignment
          ? `alert ${id} is dispatched to ${alert.assignment.workerName ?? `the team of grid ${alert.assignment.gridCode}`}`
          : `alert ${id} was not dispatched to you or your grid's team`,
      );
    if (alert.state !== 'dispatched')
      throw new InvalidTransitionError(id, alert.state, 'take a disposal report');
    // A stale version is refused before the photo is stored: a refused report leaves no file
    // behind. advance() checks it again atomically (the alert can change in between).
    if (fields.version !== undefined && fields.version !== alert.version)
      throw new ConflictError(
        `alert ${id} changed since you saw it (version ${fields.version}, now ${alert.version}, ${alert.state}); reload it`,
        { alertId: id, expected: fields.version, current: alert.version, state: alert.state },
      );
    // Checked (size, type, decodes) and re-encoded without EXIF before anything is stored.
    const clean = await cleanPhoto(photo.data, 'photo', d.config.photoMaxBytes);
    const now = clock();
    const rel = await d.evidence.put(`wd_${id.replace(/[^A-Za-z0-9_.:-]/g, '_')}_${now}`, clean.jpeg, now);
    const updated = await d.alerts.advance(
      id,
      {
        to: 'handled',
        action: 'worker_disposal',
        note: `处置反馈 ${worker.name} (${worker.id}): ${fields.note}`,
        disposal: { workerId: worker.id, workerName: worker.name, at: now, note: fields.note, photo: rel },
        ...(fields.version !== undefined ? { expectedVersion: fields.version } : {}),
      },
      workerActor(worker, gridCode),
    );
    steps.inc({ step: 'disposal' });
    logger.info({ alertId: id, workerId: worker.id }, 'disposal reported');
    res.status(201).json({ task: taskView(updated, worker) });
  });

  router.get('/stats', async (req: Request, res: Response) => {
    const actor = await d.actorOf(req);
    const reply: WorkerStatsReply = await workerStats({
      alerts: d.alerts,
      grids: d.grids(),
      roster: roster.current().workers,
      actor,
      query: req.query,
      now: clock(),
    });
    res.json(reply);
  });

  // Wrong method or path under the workers API: catalogue JSON, not the wall's page.
  router.use((req: Request) => {
    steps.inc({ step: 'refused' });
    throw new NotFoundError('route', `${req.method} ${req.baseUrl}${req.path}`);
  });

  const page = express.Router();
  page.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));

  let closing: Promise<void> | null = null;
  return {
    router,
    page,
    roster,
    async start() {
      await roster.load();
      logger.info({ workers: active().length }, 'roster loaded');
    },
    close() {
      closing ??= roster.close();
      return closing;
    },
  };
}
