import express, { type Request, type Response, type Router } from 'express';
import { boundaryError } from '../../core/redis/redis-unavailable.js';
import type { Actor } from '../../core/contracts/alert-service.js';
import type { DeptStats } from './department-stats.js';

/**
 * Mounted at /api/v1/departments when no departments file is configured: GET /stats answers
 * `enabled: false`, so the 考核 page knows to show no department table without a failed
 * request. Every other path passes on (the wall's 404).
 */
export function departmentsOffRouter(actorOf: (req: Request) => Promise<Actor>, clock = Date.now): Router {
  const router = express.Router();
  router.get('/stats', async (req: Request, res: Response) => {
    try {
      await actorOf(req);
      const now = clock();
      const zero = {
        called: 0,
        reported: 0,
        reportedLate: 0,
        missed: 0,
        medianReportInMs: null,
        p90ReportInMs: null,
        noticeFailed: 0,
      };
      const body: DeptStats = {
        enabled: false,
        from: now,
        to: now,
        whistles: 0,
        departments: [],
        totals: zero,
        truncated: false,
      };
      res.json(body);
    } catch (err) {
      const e = boundaryError(err);
      res.status(e.status).json(e.toJSON());
    }
  });
  return router;
}
