import { createHmac, timingSafeEqual } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import { Queue, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { Redis, type RedisOptions } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { z } from 'zod';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor, AlertService } from '../../core/contracts/alert-service.js';
import { actionAllowed, isOpenState } from '../../core/contracts/alert-states.js';
import { resolveSecret } from '../../core/config/resolve-secret.js';
import { createWatchedConfigFile, type WatchedConfigFile } from '../../core/config/watched-config-file.js';
import { zodIssues } from '../../core/config/zod-issues.js';
import {
  Codes,
  ConflictError,
  ForbiddenError,
  GridwatchError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
  type InputIssue,
} from '../../core/errors.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { inScope } from '../../core/grid/scope.js';
import type { Logger } from '../../core/logger.js';
import { redisOptionsFromUrl } from '../../core/redis/redis-url.js';
import { boundaryError } from '../../core/redis/redis-unavailable.js';
import { createRedisOutageLog } from '../../core/redis/redis-outage-log.js';
import {
  deliveryError,
  isPermanentHttpFailure,
  retryDelayMs,
  sendErrorText,
} from '../../core/util/delivery-retry.js';
import {
  DepartmentsFileSchema,
  ReportInBodySchema,
  WhistleBodySchema,
  WhistleSchema,
  type Call,
  type Department,
  type DepartmentsConfig,
  type DepartmentsFile,
  type Notice,
  type Whistle,
} from './departments-config.js';
import {
  aggregateDeptStats,
  DeptStatsQuerySchema,
  DeptStatsSchema,
  deptStatsRange,
} from './department-stats.js';
import { parseStored, readStored } from '../../core/redis/parse-stored.js';

/** Headers of the signed notice to a department system and of its signed report-in. */
export const DEPT_HEADERS = {
  department: 'x-gridwatch-department',
  timestamp: 'x-gridwatch-timestamp',
  signature: 'x-gridwatch-signature',
} as const;

export function deptSignature(secret: string, ts: number, body: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex')}`;
}

const QUEUE = 'departments';
/** Whistles one statistics request reads at most (newest first; `truncated` says when more). */
const STATS_WHISTLE_LIMIT = 20_000;
const CAS_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`;

export interface DepartmentsDeps {
  config: DepartmentsConfig;
  baseDir: string;
  redisUrl: string;
  redisOptions?: RedisOptions;
  prefix: string;
  alerts: AlertService;
  /** The live grid index (the scope rule reads a grid's ancestors from it). */
  grids: () => GridIndex;
  /** The wall user of a request (the wall's session check). */
  actorOf: (req: Request) => Promise<Actor>;
  maxSkewSec?: number;
  clock?: () => number;
  watch?: boolean;
  /** Run the BullMQ worker for report-in deadlines in this process (default true). */
  worker?: boolean;
  logger: Logger;
  metrics: Registry;
}

export interface Departments {
  /** Mount at /api/v1/departments (before the wall's /api/v1 router). */
  router: Router;
  readonly file: WatchedConfigFile<DepartmentsFile>;
  start(): Promise<void>;
  get(alertId: string): Promise<Whistle | null>;
  /** Handles a report-in deadline now (what the delayed job runs); true when it was missed. */
  checkDue(alertId: string, code: string): Promise<boolean>;
  close(): Promise<void>;
}

/** The departments responsible for an alert: they handle its type and its grid is in their scope. */
export function responsibleFor(
  list: readonly Department[],
  a: Pick<Alert, 'type' | 'gridPath' | 'gridCode'>,
): Department[] {
  const codes = new Set([a.gridCode, ...a.gridPath.map((g) => g.code)]);
  return list.filter((d) => d.types.includes(a.type) && d.scope.some((s) => codes.has(s)));
}

export function createDepartments(d: DepartmentsDeps): Departments {
  const logger = d.logger.child({ component: 'departments' });
  const clock = d.clock ?? Date.now;
  if (!d.config.file) throw new GridwatchError(Codes.GW_CONFIG_INVALID, 'departments.file is not set');
  const path = isAbsolute(d.config.file) ? d.config.file : join(d.baseDir, d.config.file);
  const redisOpts = redisOptionsFromUrl(d.redisUrl, d.redisOptions);
  // One line per outage for the connections of this part, not one per failed reconnect.
  const outage = createRedisOutageLog({ logger, what: 'departments' });
  const redis = new Redis({ maxRetriesPerRequest: 3, ...redisOpts });
  redis.on('error', (err) => outage.error(err, {}, 'redis connection error'));
  redis.on('ready', () => outage.recovered());
  const queue = new Queue(QUEUE, { connection: redisOpts as ConnectionOptions, prefix: d.prefix });
  queue.on('error', (err) => outage.error(err, {}, 'departments queue error'));
  let worker: Worker | null = null;
  const key = (id: string) => `${d.prefix}dept:whistle:${id}`;
  const inbox = (code: string) => `${d.prefix}dept:inbox:${code}`;
  /** Every whistle by when it was blown (statistics read ranges of it). */
  const index = `${d.prefix}dept:whistles`;
  const steps = new Counter({
    name: 'gridwatch_department_steps_total',
    help: 'Whistle steps by kind (called, reported, overdue, notice_sent, notice_retry, notify_failed) and department',
    labelNames: ['step', 'department'],
    registers: [d.metrics],
  });

  let secrets = new Map<string, string>();
  let pending = new Map<string, string>();
  const file = createWatchedConfigFile({
    file: path,
    schema: DepartmentsFileSchema,
    check: (v, locate) => {
      const issues: InputIssue[] = [];
      const out = new Map<string, string>();
      const codes = new Set<string>();
      const issue = (i: number, field: string, expected: string, found: string, message: string) =>
        issues.push({
          source: path,
          ...locate(['departments', i, field]),
          path: `departments[${i}].${field}`,
          expected,
          found,
          message,
        });
      v.departments.forEach((dep, i) => {
        if (codes.has(dep.code)) issue(i, 'code', 'a unique code', dep.code, `department ${dep.code} twice`);
        codes.add(dep.code);
        if (dep.forward) {
          try {
            out.set(dep.code, resolveSecret(dep.forward.secret, dirname(path)));
          } catch (err) {
            issue(
              i,
              'forward',
              'a readable secret',
              'unreadable',
              err instanceof Error ? err.message : 'secret',
            );
          }
        }
      });
      v.departments.forEach((dep, i) => {
        for (const c of dep.escalateTo)
          if (!codes.has(c) || c === dep.code)
            issue(i, 'escalateTo', 'codes of other departments in this file', c, `unknown department ${c}`);
      });
      if (issues.length === 0) pending = out;
      return issues;
    },
    logger,
    ...(d.watch !== undefined ? { watch: d.watch } : {}),
  });
  file.onChange(() => {
    secrets = pending;
  });

  /** The alert's root grid: a system actor there may read it and write its audit. */
  const system = (rootCode: string): Actor => ({
    username: 'system:departments',
    displayName: '吹哨报到',
    role: 'admin',
    scope: rootCode,
  });

  async function audit(w: Whistle, note: string): Promise<void> {
    try {
      await d.alerts.act(w.alertId, { action: 'note', note: note.slice(0, 2_000) }, system(w.alert.rootCode));
    } catch (err) {
      logger.error({ err, alertId: w.alertId }, 'could not write the whistle step to the audit');
    }
  }

  async function load(alertId: string): Promise<Whistle | null> {
    const raw = await redis.get(key(alertId));
    if (raw === null) return null;
    return readStored(WhistleSchema, raw, `whistle of ${alertId}`);
  }

  /**
   * Compare-and-set of one whistle: written only when the stored JSON is still the one `fn`
   * saw (a Lua script, so concurrent report-ins and deadlines on one connection cannot interleave).
   */
  async function change(alertId: string, fn: (w: Whistle) => Whistle | null): Promise<Whistle | null> {
    for (let i = 0; i < 20; i++) {
      const raw = await redis.get(key(alertId));
      if (raw === null) return null;
      const cur = readStored(WhistleSchema, raw, `whistle of ${alertId}`);
      const next = fn(cur);
      if (!next) return cur;
      const ok = await redis.eval(CAS_LUA, 1, key(alertId), raw, JSON.stringify(next));
      if (ok === 1) return next;
    }
    throw new ConflictError(`whistle of ${alertId} kept changing; try again`, { alertId });
  }

  const dueIn = (dep: Department) => (dep.reportInSec ?? file.current().reportInSec) * 1_000;

  /**
   * Queues what a call needs: its report-in deadline and, for a forward target, the notice.
   * The notice is a BullMQ job of its own (attempts and backoff from the file's `notice`), so a
   * receiver that is down gets it later and a gateway restart loses nothing.
   */
  async function notify(w: Whistle, calls: Call[]): Promise<void> {
    const n = file.current().notice;
    for (const c of calls) {
      steps.inc({ step: 'called', department: c.code });
      await redis.zadd(inbox(c.code), c.calledAt, w.alertId);
      await queue.add(
        'due',
        { alertId: w.alertId, code: c.code },
        {
          jobId: `due:${w.alertId}:${c.code}`,
          delay: Math.max(0, c.dueAt - clock()),
          removeOnComplete: { count: 1_000 },
          removeOnFail: { count: 1_000 },
          attempts: 3,
          backoff: { type: 'exponential', delay: 1_000 },
        },
      );
      if (c.notice)
        await queue.add(
          'notice',
          { alertId: w.alertId, code: c.code },
          {
            jobId: `notice:${w.alertId}:${c.code}`,
            attempts: n.attempts,
            backoff: { type: 'notice' },
            removeOnComplete: { count: 1_000 },
            removeOnFail: { count: 5_000 },
          },
        );
    }
  }

  const setNotice = (alertId: string, code: string, notice: Notice) =>
    change(alertId, (cur) => ({
      ...cur,
      calls: cur.calls.map((x) => (x.code === code ? { ...x, notice } : x)),
    }));

  /**
   * One attempt to deliver a whistle notice (what the `notice` job runs). Throws to be retried;
   * throws UnrecoverableError when retrying cannot help (a refusing 4xx, attempts used up, the
   * target gone), after writing the give-up to the whistle, the audit and the log.
   */
  async function deliver(
    alertId: string,
    code: string,
    attempt: number,
    maxAttempts: number,
  ): Promise<string> {
    const w = await load(alertId);
    const c = w?.calls.find((x) => x.code === code);
    if (!w || !c) throw new UnrecoverableError(`whistle of ${alertId} or its call of ${code} is gone`);
    const dep = file.current().departments.find((x) => x.code === code);
    const secret = secrets.get(code);
    let httpStatus: number | null = null;
    let error: string;
    let gone = false;
    if (!dep?.forward || secret === undefined) {
      gone = true;
      error = `department ${code}: its forward target is no longer configured`;
    } else {
      const body = JSON.stringify({
        kind: 'whistle',
        alertId: w.alertId,
        department: c.code,
        dueAt: new Date(c.dueAt).toISOString(),
        alert: w.alert,
        note: w.note,
      });
      const ts = Math.floor(clock() / 1_000);
      try {
        const r = await fetch(dep.forward.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [DEPT_HEADERS.department]: c.code,
            [DEPT_HEADERS.timestamp]: String(ts),
            [DEPT_HEADERS.signature]: deptSignature(secret, ts, body),
          },
          body,
          signal: AbortSignal.timeout(file.current().notice.timeoutMs),
        });
        httpStatus = r.status;
        const text = await r.text();
        if (r.ok) {
          steps.inc({ step: 'notice_sent', department: code });
          await setNotice(alertId, code, {
            status: 'sent',
            attempts: attempt,
            lastError: null,
            sentAt: clock(),
          });
          await audit(w, `吹哨通知 ${c.name} 已送达${attempt > 1 ? ` (第 ${attempt} 次尝试)` : ''}`);
          return 'sent';
        }
        error = `HTTP ${r.status}: ${text.slice(0, 200)}`;
      } catch (err) {
        error = sendErrorText(err);
      }
    }
    const last = deliveryError(httpStatus, error, clock());
    const gaveUp = gone || isPermanentHttpFailure(httpStatus) || attempt >= maxAttempts;
    await setNotice(alertId, code, {
      status: gaveUp ? 'failed' : 'failing',
      attempts: attempt,
      lastError: last,
      sentAt: null,
    });
    if (gaveUp) {
      steps.inc({ step: 'notify_failed', department: code });
      logger.warn(
        { alertId, department: code, attempts: attempt, kind: last.kind, httpStatus, error: last.detail },
        'whistle notice not delivered; gave up',
      );
      await audit(
        w,
        `吹哨通知 ${c.name} 未送达，已放弃: ${attempt} 次尝试, 最后错误 ${last.kind}${httpStatus !== null ? ` (HTTP ${httpStatus})` : ''}: ${last.detail}`,
      );
      throw new UnrecoverableError(error);
    }
    steps.inc({ step: 'notice_retry', department: code });
    logger.warn(
      { alertId, department: code, attempt, kind: last.kind, httpStatus, error: last.detail },
      'whistle notice not delivered; will retry',
    );
    // The first failure is in the audit; the attempts after it are on the whistle (and the wall).
    if (attempt === 1)
      await audit(
        w,
        `吹哨通知 ${c.name} 未送达 (${last.kind}: ${last.detail})，将重试 (最多 ${maxAttempts} 次)`,
      );
    throw new Error(error);
  }

  function callOf(dep: Department, level: number, now: number): Call {
    return {
      code: dep.code,
      name: dep.name,
      level,
      calledAt: now,
      dueAt: now + dueIn(dep),
      reportedAt: null,
      reportedBy: null,
      overdueAt: null,
      via: dep.forward && dep.operators.length ? 'both' : dep.forward ? 'forward' : 'operators',
      ...(dep.forward ? { notice: { status: 'pending', attempts: 0, lastError: null, sentAt: null } } : {}),
    };
  }

  async function whistle(
    alertId: string,
    body: z.infer<typeof WhistleBodySchema>,
    actor: Actor,
  ): Promise<Whistle> {
    if (actor.role === 'viewer') throw new ForbiddenError('viewers cannot blow the whistle');
    const a = await d.alerts.get(alertId, actor);
    if (!isOpenState(a.state))
      throw new GridwatchError(Codes.GW_INVALID_TRANSITION, `alert ${a.id} is ${a.state}: it is not open`);
    const list = file.current().departments;
    const responsible = responsibleFor(list, a);
    let chosen = responsible;
    if (body.departments) {
      chosen = [];
      for (const [i, c] of body.departments.entries()) {
        const dep = responsible.find((x) => x.code === c);
        if (!dep)
          throw new GridwatchError(
            Codes.GW_VALIDATION,
            `department ${c} does not handle ${a.type} in ${a.gridCode}`,
            { field: `departments[${i}]` },
          );
        chosen.push(dep);
      }
    }
    if (chosen.length === 0)
      throw new ConflictError(
        `no department handles ${a.type} in grid ${a.gridCode}: add one to departments.yaml`,
        {
          type: a.type,
          gridCode: a.gridCode,
        },
      );
    const now = clock();
    const w: Whistle = {
      alertId: a.id,
      at: now,
      by: actor.username,
      note: body.note ?? null,
      alert: {
        type: a.type,
        typeZh: a.typeLabel.zh,
        gridCode: a.gridCode,
        gridName: a.gridPath.at(-1)?.name ?? a.gridCode,
        rootCode: a.gridPath[0]?.code ?? a.gridCode,
        place: a.cameraName,
        path: a.gridPath.map((g) => g.code),
      },
      calls: chosen.map((dep) => callOf(dep, 1, now)),
    };
    const set = await redis.set(key(a.id), JSON.stringify(w), 'NX');
    if (set === null) throw new ConflictError(`alert ${a.id} already has a whistle`, { alertId: a.id });
    await redis.zadd(index, now, a.id);
    await audit(
      w,
      `吹哨 by ${actor.displayName}: ${w.calls.map((c) => `${c.name} (${c.code}) 限 ${Math.round((c.dueAt - now) / 60_000)} 分钟报到`).join('; ')}${body.note ? `; ${body.note}` : ''}`,
    );
    await notify(w, w.calls);
    return w;
  }

  async function reportIn(
    alertId: string,
    code: string,
    by: string,
    note: string | undefined,
  ): Promise<Whistle> {
    const now = clock();
    let already = false;
    const w = await change(alertId, (cur) => {
      const c = cur.calls.find((x) => x.code === code);
      if (!c) throw new NotFoundError('call of department', `${code} on alert ${alertId}`);
      if (c.reportedAt !== null) {
        already = true;
        return null;
      }
      return {
        ...cur,
        calls: cur.calls.map((x) => (x.code === code ? { ...x, reportedAt: now, reportedBy: by } : x)),
      };
    });
    if (!w) throw new NotFoundError('whistle', alertId);
    if (already) return w;
    const c = w.calls.find((x) => x.code === code)!;
    steps.inc({ step: 'reported', department: code });
    const took = Math.round((now - c.calledAt) / 60_000);
    await audit(
      w,
      `报到: ${c.name} (${by}) after ${took} 分钟${c.overdueAt !== null ? '（超时）' : ''}${note ? `; ${note}` : ''}`,
    );
    return w;
  }

  async function checkDue(alertId: string, code: string): Promise<boolean> {
    const now = clock();
    let missed: Call | null = null;
    const w = await change(alertId, (cur) => {
      const c = cur.calls.find((x) => x.code === code);
      if (!c || c.reportedAt !== null || c.overdueAt !== null || c.dueAt > now) return null;
      missed = { ...c, overdueAt: now };
      return { ...cur, calls: cur.calls.map((x) => (x.code === code ? missed! : x)) };
    });
    if (!w || !missed) return false;
    const m: Call = missed;
    steps.inc({ step: 'overdue', department: code });
    const list = file.current().departments;
    const dep = list.find((x) => x.code === code);
    const next = (dep?.escalateTo ?? [])
      .map((c) => list.find((x) => x.code === c))
      .filter((x): x is Department => x !== undefined);
    let added: Call[] = [];
    const w2 =
      next.length === 0
        ? w
        : await change(alertId, (cur) => {
            added = next
              .filter((x) => !cur.calls.some((c) => c.code === x.code))
              .map((x) => callOf(x, m.level + 1, now));
            return added.length ? { ...cur, calls: [...cur.calls, ...added] } : null;
          });
    const late = `${m.name} 未在 ${Math.round((m.dueAt - m.calledAt) / 60_000)} 分钟内报到`;
    if (added.length > 0) {
      await audit(w2 ?? w, `${late}，升级: 通知 ${added.map((c) => `${c.name} (${c.code})`).join(', ')}`);
      await notify(w2 ?? w, added);
    } else {
      // No one further to call: the alert itself goes one grid level up, when its state allows.
      const sys = system(w.alert.rootCode);
      const a = await d.alerts.get(alertId, sys).catch(() => null);
      if (a && actionAllowed(a.state, 'escalate') && a.gridPath.length > 1 + a.escalationLevel) {
        await d.alerts
          .act(alertId, { action: 'escalate', note: `${late}（吹哨升级）` }, sys)
          .catch((err: unknown) => logger.warn({ err, alertId }, 'could not escalate the alert'));
      } else await audit(w, `${late}（吹哨超时）`);
    }
    return true;
  }

  // ---- HTTP -------------------------------------------------------------------------------
  const wrap =
    (fn: (req: Request) => Promise<unknown>, status = 200) =>
    async (req: Request, res: Response, _next: NextFunction) => {
      try {
        res.status(status).json(await fn(req));
      } catch (err) {
        const e = boundaryError(err);
        if (e.status >= 500) logger.error({ err }, 'departments request failed');
        res.status(e.status).json(e.toJSON());
      }
    };
  const parse = <S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> => {
    const p = schema.safeParse(body ?? {});
    if (!p.success) throw new ValidationError(what, zodIssues(what, p.error, body));
    return p.data;
  };
  const deptsOf = (username: string) =>
    file.current().departments.filter((x) => x.operators.includes(username));
  const idOf = (req: Request) => {
    const id = String(req.params.alertId);
    if (!/^[A-Za-z0-9:_-]{1,200}$/.test(id)) throw new NotFoundError('alert', id.slice(0, 200));
    return id;
  };

  const router = express.Router();
  router.use(
    express.json({
      limit: '16kb',
      strict: true,
      verify: (req, _res, buf) => ((req as Request & { rawBody?: Buffer }).rawBody = buf),
    }),
  );
  router.get(
    '/',
    wrap(async (req) => {
      await d.actorOf(req);
      return {
        departments: file
          .current()
          .departments.map((x) => ({ code: x.code, name: x.name, types: x.types, scope: x.scope })),
      };
    }),
  );
  router.post(
    '/whistles/:alertId',
    wrap(
      async (req) =>
        whistle(idOf(req), parse(WhistleBodySchema, req.body, 'POST whistle body'), await d.actorOf(req)),
      201,
    ),
  );
  router.get(
    '/whistles/:alertId',
    wrap(async (req) => {
      const id = idOf(req);
      const actor = await d.actorOf(req);
      const w = await load(id);
      // A department operator sees the whistles that called their department; others need the alert in scope.
      const mine = w?.calls.some((c) => deptsOf(actor.username).some((x) => x.code === c.code));
      if (!mine) await d.alerts.get(id, actor);
      if (!w) throw new NotFoundError('whistle', id);
      return w;
    }),
  );
  router.post(
    '/whistles/:alertId/report-in',
    wrap(async (req) => {
      const id = idOf(req);
      const b = parse(ReportInBodySchema, req.body, 'POST report-in body');
      const signedBy = req.get(DEPT_HEADERS.department);
      if (signedBy !== undefined) {
        // A department system reporting in with its forward secret.
        const secret = secrets.get(signedBy);
        const ts = Number(req.get(DEPT_HEADERS.timestamp) ?? '');
        const raw = (req as Request & { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
        const want = secret === undefined ? '' : deptSignature(secret, ts, raw);
        const got = req.get(DEPT_HEADERS.signature) ?? '';
        if (
          secret === undefined ||
          !Number.isInteger(ts) ||
          Math.abs(clock() / 1_000 - ts) > (d.maxSkewSec ?? 300) ||
          got.length !== want.length ||
          !timingSafeEqual(Buffer.from(got), Buffer.from(want))
        )
          throw new UnauthorizedError('bad department signature');
        if (signedBy !== b.department)
          throw new ForbiddenError(`${signedBy} cannot report in for ${b.department}`);
        return reportIn(id, b.department, `department:${signedBy}`, b.note);
      }
      const actor = await d.actorOf(req);
      if (!deptsOf(actor.username).some((x) => x.code === b.department))
        throw new GridwatchError(
          Codes.GW_FORBIDDEN,
          `${actor.username} is not an operator of ${b.department}`,
          {
            field: 'department',
          },
        );
      return reportIn(id, b.department, actor.username, b.note);
    }),
  );
  router.get(
    '/inbox',
    wrap(async (req) => {
      const actor = await d.actorOf(req);
      const mine = deptsOf(actor.username);
      const ids = new Set<string>();
      for (const dep of mine) for (const id of await redis.zrevrange(inbox(dep.code), 0, 199)) ids.add(id);
      const out: Whistle[] = [];
      for (const id of ids) {
        const w = await load(id);
        if (w) out.push(w);
      }
      return { departments: mine.map((x) => x.code), whistles: out.sort((a, b) => b.at - a.at) };
    }),
  );
  router.get(
    '/stats',
    wrap(async (req) => {
      const actor = await d.actorOf(req);
      const q = parse(DeptStatsQuerySchema, req.query, 'GET /api/v1/departments/stats query');
      const r = deptStatsRange(q, clock());
      if (!r.ok)
        throw new GridwatchError(Codes.GW_VALIDATION, `GET /api/v1/departments/stats query: ${r.message}`, {
          field: r.field,
        });
      const ids = await redis.zrevrangebyscore(
        index,
        `(${r.to}`,
        r.from,
        'LIMIT',
        0,
        STATS_WHISTLE_LIMIT + 1,
      );
      const truncated = ids.length > STATS_WHISTLE_LIMIT;
      const area = q.gridCode ?? actor.scope;
      const mine: Whistle[] = [];
      let damaged = 0;
      for (let i = 0; i < Math.min(ids.length, STATS_WHISTLE_LIMIT); i += 500) {
        const raws = await redis.mget(...ids.slice(i, Math.min(i + 500, STATS_WHISTLE_LIMIT)).map(key));
        for (const raw of raws) {
          if (raw === null) continue;
          const p = parseStored(WhistleSchema, raw);
          if (!p.ok) {
            damaged++;
            continue;
          }
          const w = p.value;
          // Whistles written before the path was kept know only their root and their grid.
          const path = w.alert.path ?? [w.alert.rootCode, w.alert.gridCode];
          const target = { gridCode: w.alert.gridCode, gridPath: path.map((code) => ({ code })) };
          if (!inScope(actor, target, d.grids()) || !path.includes(area)) continue;
          if (q.type?.length && !q.type.includes(w.alert.type)) continue;
          mine.push(w);
        }
      }
      if (damaged) logger.warn({ damaged }, 'department stats skipped damaged stored whistles');
      return DeptStatsSchema.parse({
        enabled: true,
        from: r.from,
        to: r.to,
        ...aggregateDeptStats(mine, file.current().departments),
        truncated,
      });
    }),
  );
  router.use((req, res) => {
    const e = new NotFoundError('route', `${req.method} ${req.baseUrl}${req.path}`);
    res.status(e.status).json(e.toJSON());
  });

  let closing: Promise<void> | null = null;
  return {
    router,
    file,
    get: load,
    checkDue,
    async start() {
      await file.load();
      secrets = pending;
      if (d.worker !== false) {
        worker = new Worker(
          QUEUE,
          async (job) => {
            const { alertId, code } = job.data as { alertId: string; code: string };
            if (job.name === 'notice')
              return deliver(alertId, code, job.attemptsMade + 1, job.opts.attempts ?? 1);
            return (await checkDue(alertId, code)) ? 'overdue' : 'in_time';
          },
          {
            connection: redisOpts as ConnectionOptions,
            prefix: d.prefix,
            concurrency: 4,
            settings: { backoffStrategy: (made: number) => retryDelayMs(made, file.current().notice) },
          },
        );
        worker.on('error', (err) => outage.error(err, {}, 'departments worker error'));
        // A notice whose last attempt failed elsewhere than in deliver (Redis gone meanwhile, say)
        // has no give-up entry: it must not end silently either.
        worker.on('failed', (job, err) => {
          if (job?.name !== 'notice' || err instanceof UnrecoverableError) return;
          if (job.attemptsMade >= (job.opts.attempts ?? 1))
            logger.warn(
              { ...(job.data as object), attempts: job.attemptsMade, err: err.message },
              'whistle notice job failed for good',
            );
        });
      }
    },
    close() {
      closing ??= (async () => {
        await worker?.close();
        await queue.close();
        await file.close();
        await redis.quit().catch(() => redis.disconnect());
        outage.close();
      })();
      return closing;
    },
  };
}
