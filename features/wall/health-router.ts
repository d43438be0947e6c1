import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../../core/logger.js';

export interface ReadyCheck {
  ok: boolean;
  detail?: string;
}

/** What /readyz answers: ready only when every check passes. */
export interface ReadyReport {
  ready: boolean;
  checks: Record<string, ReadyCheck>;
}

export interface HealthSources {
  ready(): Promise<ReadyReport>;
  details(): Promise<object>;
}

/**
 * /healthz (process alive), /readyz (dependencies up: 200 or 503 with the failing checks)
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
      res.status(r.ready ? 200 : 503).json(r);
    } catch (err) {
      opts.logger.error({ err }, 'readiness check failed');
      res.status(503).json({
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
