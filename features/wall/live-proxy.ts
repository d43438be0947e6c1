import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { CameraDirectory } from '../../core/contracts/camera-directory.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { Codes, ForbiddenError, GridwatchError, NotFoundError } from '../../core/errors.js';
import { inScope } from '../../core/grid/scope.js';
import type { Logger } from '../../core/logger.js';
import type { WallAuth } from './auth.js';
import { requestToken } from './http-api.js';

/**
 * Same-origin HTTP-FLV for the wall: `<path>/live/<camera>.flv?sign=…` is piped from the media
 * server on loopback, so the browser needs no second origin and the media server need not be
 * reachable from operators' PCs. The signed URL comes from a scope-checked live-view ticket;
 * the session and scope are checked again here so a leaked URL is useless without a login.
 */
export function createLiveProxy(opts: {
  origin: () => string | null;
  auth: WallAuth;
  cameras: CameraDirectory;
  grids: () => GridIndex;
  logger: Logger;
}): Router {
  const router = express.Router();

  router.get('/live/:file', async (req: Request, res: Response, next: NextFunction) => {
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    try {
      const session = await opts.auth.verify(requestToken(req).token);
      const m = /^([A-Za-z0-9_-]{1,64})\.flv$/.exec(String(req.params.file));
      if (!m) throw new NotFoundError('live stream', String(req.params.file));
      const cameraId = m[1] as string;
      const cam = opts.cameras.get(cameraId);
      if (!cam) throw new NotFoundError('camera', cameraId);
      if (!inScope(session.actor, cam, opts.grids()))
        throw new ForbiddenError(`camera ${cameraId} is outside your scope`);
      const origin = opts.origin();
      if (!origin) throw new GridwatchError(Codes.GW_LIVE_NOT_STARTED, 'no live view has been started');
      const qs = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
      const up = await fetch(`${origin}/live/${cameraId}.flv${qs}`, { signal: ac.signal });
      if (!up.ok || !up.body)
        throw new GridwatchError(Codes.GW_LIVE_UPSTREAM, `media server answered ${up.status}`);
      res.status(200);
      res.setHeader('Content-Type', 'video/x-flv');
      res.setHeader('Cache-Control', 'no-store');
      const body = Readable.fromWeb(up.body as unknown as NodeReadableStream<Uint8Array>);
      body.on('error', (err) => {
        if (!ac.signal.aborted) opts.logger.warn({ err, cameraId }, 'live stream broke');
        res.destroy();
      });
      body.pipe(res);
    } catch (err) {
      if (ac.signal.aborted) {
        opts.logger.debug({ err }, 'viewer left before the live stream started');
        return;
      }
      const e =
        err instanceof GridwatchError
          ? err
          : new GridwatchError(Codes.GW_LIVE_UPSTREAM, 'media server unreachable', { cause: err });
      if (e.status >= 500) opts.logger.warn({ err }, 'live proxy failed');
      if (res.headersSent) res.destroy();
      // Answered by the wall's one error handler (http-errors.ts), like every other route.
      else next(e);
    }
  });
  return router;
}
