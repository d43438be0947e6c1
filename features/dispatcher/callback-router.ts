import express, { type Request, type Response, type Router } from 'express';
import { boundaryError } from '../../core/redis/redis-unavailable.js';
import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import type { Alert, AlertState } from '../../core/contracts/alert.js';
import { NotFoundError, UnauthorizedError, ValidationError } from '../../core/errors.js';
import type { AlertEngine } from './alert-engine.js';
import type { AlertStore } from './alert-store.js';
import type { ResolvedTarget } from './forwarder.js';
import { forwardMove, PLATFORM_ORDER } from './lifecycle.js';
import type { Rechecker } from './recheck.js';
import type { RedisKeys } from './redis-keys.js';
import { SIG_HEADERS, verifySignature } from './signing.js';
import { zodIssues } from '../../core/config/zod-issues.js';
import { ALERT_STATES } from '../../core/contracts/alert.js';

export const CallbackBodySchema = z
  .strictObject({
    alertId: z.string().min(1).max(200).optional().describe('alertId from the case; or give caseId'),
    caseId: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('The platform’s own case id, as returned when the case was accepted'),
    status: z
      .enum(['dispatched', 'handled', 'verified', 'closed'])
      .describe('派遣 dispatched, 处置 handled, 核查 verified, 结案 closed'),
    at: z
      .string()
      .datetime({ offset: true })
      .optional()
      .describe('When it happened on the platform (ISO 8601)'),
    note: z.string().max(1_000).optional(),
    handler: z.string().max(200).optional().describe('Department or person who acted'),
  })
  .refine((b) => b.alertId !== undefined || b.caseId !== undefined, {
    message: 'alertId or caseId is required',
    path: ['alertId'],
  })
  .describe('A status update from the grid platform');

/** The reply to an accepted status callback (the router below answers exactly this). */
export const CallbackReplySchema = z
  .strictObject({
    ok: z.literal(true),
    alertId: z.string().describe('The alert the case belongs to'),
    state: z.enum(ALERT_STATES).describe('Its state after the update'),
    version: z.number().int().describe('Its version after the update'),
    changed: z.boolean().describe('false: the status was already recorded (a repeat changes nothing)'),
  })
  .describe('A status callback applied (or already applied)');

/**
 * POST /callbacks: the platform's status updates, HMAC-checked with the target's secret.
 * Refusals change nothing and say why (the vendor integrating needs exact reasons).
 */
export function createCallbackRouter(d: {
  targets: ResolvedTarget[];
  engine: AlertEngine;
  store: AlertStore;
  redis: RedisClient;
  keys: RedisKeys;
  rechecker: Rechecker;
  maxSkewSec: number;
  clock: () => number;
  logger: Logger;
  metrics: Registry;
}): Router {
  const counter = new Counter({
    name: 'gridwatch_dispatcher_callbacks_total',
    help: 'Platform status callbacks by outcome',
    labelNames: ['outcome'],
    registers: [d.metrics],
  });
  const targets = new Map(d.targets.map((t) => [t.id, t]));
  const router = express.Router();
  router.post(
    '/callbacks',
    express.raw({ type: () => true, limit: '64kb' }),
    async (req: Request, res: Response) => {
      try {
        const out = await handle(req);
        counter.inc({ outcome: out.changed ? 'applied' : 'unchanged' });
        // The reply is what the OpenAPI document promises (callback-routes.ts).
        res.status(200).json(CallbackReplySchema.parse({ ok: true, ...out }));
      } catch (err) {
        const e = boundaryError(err);
        counter.inc({ outcome: e.code });
        if (e.status >= 500) d.logger.error({ err }, 'platform callback failed');
        else d.logger.warn({ code: e.code, message: e.message, ip: req.ip }, 'platform callback refused');
        res.status(e.status).json({ ok: false, error: e.toJSON() });
      }
    },
  );

  async function handle(
    req: Request,
  ): Promise<{ alertId: string; state: AlertState; version: number; changed: boolean }> {
    const targetId = req.get(SIG_HEADERS.target) ?? '';
    const t = targets.get(targetId);
    if (!t) throw new UnauthorizedError(`unknown or missing ${SIG_HEADERS.target} header`);
    const tsText = req.get(SIG_HEADERS.timestamp) ?? '';
    if (!/^\d{9,11}$/.test(tsText))
      throw new UnauthorizedError(`${SIG_HEADERS.timestamp} must be unix seconds`);
    const ts = Number(tsText);
    const skew = Math.abs(d.clock() / 1_000 - ts);
    if (skew > d.maxSkewSec)
      throw new UnauthorizedError(
        `stale timestamp: ${Math.round(skew)} s from gateway time (limit ${d.maxSkewSec} s)`,
      );
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifySignature(t.secretValue, ts, body, req.get(SIG_HEADERS.signature) ?? '')) {
      throw new UnauthorizedError(
        `bad signature: expected ${SIG_HEADERS.signature}: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new ValidationError('POST /callbacks', [
        {
          source: 'POST /callbacks',
          path: '',
          expected: 'a JSON object',
          found: 'invalid JSON',
          message: err instanceof Error ? err.message : String(err),
        },
      ]);
    }
    const p = CallbackBodySchema.safeParse(json);
    if (!p.success) {
      throw new ValidationError('POST /callbacks', zodIssues('POST /callbacks', p.error, json));
    }
    const b = p.data;
    const alertId = b.alertId ?? (await d.redis.get(d.keys.caseIndex(t.id, b.caseId!)));
    const alert = alertId ? await d.store.get(alertId) : null;
    // An alert never sent to this platform is unknown to it, whatever id it quotes.
    if (!alert || PLATFORM_ORDER.indexOf(alert.state) < 0 || (t.types && !t.types.includes(alert.type))) {
      throw new NotFoundError('alert', b.alertId ?? `case ${b.caseId}`);
    }
    let changed = false;
    const updated = await d.engine.update(alert.id, (a: Alert) => {
      const note = [b.handler, b.note, b.at ? `platform time ${b.at}` : undefined].filter(Boolean).join('; ');
      const change = forwardMove(a, b.status, d.clock(), `platform:${t.id}`, b.status, note || undefined, {
        caseId: a.caseId ?? b.caseId ?? null,
      });
      changed = change !== null;
      return change;
    });
    if (changed && b.status === 'handled') {
      const scheduled = await d.rechecker.schedule(updated);
      if (scheduled) d.logger.info({ alertId: updated.id }, 're-check scheduled');
    }
    return { alertId: updated.id, state: updated.state, version: updated.version, changed };
  }
  return router;
}
