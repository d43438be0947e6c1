import type { IncomingMessage } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { CameraDirectory } from '../../core/contracts/camera-directory.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { Codes, ForbiddenError, GridwatchError, NotFoundError } from '../../core/errors.js';
import { inScope } from '../../core/grid/scope.js';
import type { Logger } from '../../core/logger.js';
import type { WallAuth } from './auth.js';
import { WebSocketServer } from 'ws';
import { asReplyError } from './http-errors.js';
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

/** Highest backlog (bytes) a slow viewer may build up before its stream is cut. */
const WS_MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * The same streams over WebSocket (WS-FLV), for the split-screen wall: browsers open at most
 * six HTTP/1.1 connections per origin, so six HTTP-FLV tiles would stall every other request
 * of the page; WebSockets do not count against that pool. Same checks as the HTTP route
 * (session, camera scope) plus the Origin, which a browser sets on every WebSocket: a page of
 * another site cannot open a stream with the operator's cookie.
 *
 * Returns the upgrade handler: true when the request was for this path (answered or refused).
 */
export function createLiveWsProxy(opts: {
  path: string;
  origin: () => string | null;
  auth: WallAuth;
  cameras: CameraDirectory;
  grids: () => GridIndex;
  /** Origins allowed to open a stream (the wall's own, for the request's Host). */
  allowedOrigins: (hostHeader: string | undefined) => string[];
  logger: Logger;
}): { upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean; close(): void } {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const prefix = `${opts.path.replace(/\/+$/, '')}/live/`;

  function refuse(socket: Duplex, err: unknown): void {
    const { error } = asReplyError(err);
    const body = JSON.stringify(error.toJSON());
    socket.end(
      `HTTP/1.1 ${error.status} Refused\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  async function admit(req: IncomingMessage): Promise<{ cameraId: string; upstream: string }> {
    const origin = req.headers.origin;
    if (!origin || !opts.allowedOrigins(req.headers.host).includes(origin))
      throw new ForbiddenError('live stream opened from another origin');
    const session = await opts.auth.verify(requestToken(req).token);
    const url = new URL(req.url ?? '/', 'http://wall.invalid');
    const m = /^([A-Za-z0-9_-]{1,64})\.flv$/.exec(url.pathname.slice(prefix.length));
    if (!m) throw new NotFoundError('live stream', url.pathname.slice(prefix.length));
    const cameraId = m[1] as string;
    const cam = opts.cameras.get(cameraId);
    if (!cam) throw new NotFoundError('camera', cameraId);
    if (!inScope(session.actor, cam, opts.grids()))
      throw new ForbiddenError(`camera ${cameraId} is outside your scope`);
    const media = opts.origin();
    if (!media) throw new GridwatchError(Codes.GW_LIVE_NOT_STARTED, 'no live view has been started');
    return { cameraId, upstream: `${media}/live/${cameraId}.flv${url.search}` };
  }

  return {
    upgrade(req, socket, head) {
      if (!(req.url ?? '').startsWith(prefix)) return false;
      socket.on('error', (err) => opts.logger.debug({ err }, 'live websocket socket error'));
      admit(req).then(
        ({ cameraId, upstream }) => {
          wss.handleUpgrade(req, socket, head, (ws) => {
            const ac = new AbortController();
            ws.on('close', () => ac.abort());
            ws.on('error', () => ac.abort());
            void (async () => {
              try {
                const up = await fetch(upstream, { signal: ac.signal });
                if (!up.ok || !up.body)
                  throw new GridwatchError(Codes.GW_LIVE_UPSTREAM, `media server answered ${up.status}`);
                for await (const chunk of up.body as unknown as AsyncIterable<Uint8Array>) {
                  if (ws.bufferedAmount > WS_MAX_BUFFERED) {
                    opts.logger.warn({ cameraId }, 'live viewer too slow; stream cut');
                    break;
                  }
                  ws.send(chunk, { binary: true });
                }
              } catch (err) {
                if (!ac.signal.aborted) opts.logger.warn({ err, cameraId }, 'live websocket stream broke');
              } finally {
                ac.abort();
                // 1011: the server ended the stream (media server gone, or the viewer too slow).
                if (ws.readyState === ws.OPEN) ws.close(1011);
              }
            })();
          });
        },
        (err: unknown) => refuse(socket, err),
      );
      return true;
    },
    close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
