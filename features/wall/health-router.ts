import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../../core/logger.js';

export interface ReadyCheck {
  ok: boolean;
  detail?: string;
  /**
   * false: the gateway still does its job without this (e.g. evidence images): a failure makes
   * readiness "degraded" (200) rather than unavailable (503). Default true.
   */
  critical?: boolean;
}

/** What the integrator reports: ready when every critical check passes. */
export interface ReadyReport {
  ready: boolean;
  checks: Record<string, ReadyCheck>;
}

export type ReadyStatus = 'ok' | 'degraded' | 'unavailable';

/** ok: every check passes; degraded: ready, but a non-critical check fails; else unavailable. */
export function readyStatus(r: ReadyReport): ReadyStatus {
  if (!r.ready) return 'unavailable';
  return Object.values(r.checks).every((c) => c.ok) ? 'ok' : 'degraded';
}

export interface HealthSources {
  ready(): Promise<ReadyReport>;
  details(): Promise<object>;
}

/**
 * /healthz (process alive), /readyz (dependencies up: 200 with status ok or degraded, or 503
 * unavailable, with the failing checks)
 * and /metrics (Prometheus text from this instance's registry). The checks themselves are
 * callbacks the integrator wires, so this module knows nothing about Redis or cameras.
 */
export function createHealthRouter(opts: {
  health: HealthSources;
  registry: Registry;
  logger: Logger;
  startedAt?: number;
}): Router {
  const router = express.Router();
  const startedAt = opts.startedAt ?? Date.now();
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok', uptimeSec: Math.round((Date.now() - startedAt) / 1000) });
  });
  router.get('/readyz', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    try {
      const r = await opts.health.ready();
      res.status(r.ready ? 200 : 503).json({ status: readyStatus(r), ...r });
    } catch (err) {
      opts.logger.error({ err }, 'readiness check failed');
      res.status(503).json({
        status: 'unavailable',
        ready: false,
        checks: { readiness: { ok: false, detail: 'readiness check threw (see the gateway log)' } },
      });
    }
  });
  router.get('/metrics', async (_req, res) => {
    try {
      res.setHeader('Content-Type', opts.registry.contentType);
      res.send(await opts.registry.metrics());
    } catch (err) {
      opts.logger.error({ err }, 'metrics collection failed');
      res.status(500).type('text/plain').send('metrics collection failed\n');
    }
  });
  return router;
}
