import type { Express } from 'express';

/** One method and Express path the HTTP app answers, e.g. { method: 'post', path: '/api/v1/workers/dispatch/:alertId' }. */
export interface MountedRoute {
  method: string;
  path: string;
}

interface LayerLike {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
}

const join = (a: string, b: string) => `${a}/${b}`.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');

/**
 * Every route of an Express 5 app, walked from its router stack and the routers mounted in it
 * (router 2.x keeps a layer's mount path as `rawPath`). Middleware without a route (body
 * parsers, static files, not-found handlers) is not a route; a mount on a pattern that is not a
 * string is skipped. This is what the OpenAPI document is checked against (test/wall/openapi-coverage.test.ts).
 */
export function mountedRoutes(app: Express): MountedRoute[] {
  const out: MountedRoute[] = [];
  const walk = (stack: readonly LayerLike[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          if (typeof p !== 'string') continue;
          for (const [m, on] of Object.entries(layer.route.methods))
            if (on && m !== '_all') out.push({ method: m, path: join(prefix, p) });
        }
      } else if (Array.isArray(layer.handle?.stack) && typeof layer.rawPath === 'string') {
        walk(layer.handle.stack, join(prefix, layer.rawPath));
      }
    }
  };
  const root = (app as unknown as { router?: { stack?: LayerLike[] } }).router;
  walk(root?.stack ?? [], '');
  return out;
}
