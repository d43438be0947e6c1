import { z } from 'zod';
import { ErrorBodySchema } from './api-schemas.js';
import type { RouteDef } from './route-table.js';

type Json = Record<string, unknown>;

function schema(s: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Json;
  delete out.$schema;
  return out;
}

/** OpenAPI 3.0 document generated from the same zod schemas that validate requests. */
export function buildOpenApi(routes: RouteDef[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const path = `/api/v1${r.path}`.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: Json[] = [];
    for (const [where, s] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!s) continue;
      const js = schema(s, 'input');
      const props = (js.properties ?? {}) as Record<string, Json>;
      const required = new Set((js.required as string[] | undefined) ?? []);
      for (const [name, p] of Object.entries(props)) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || required.has(name),
          ...(typeof p.description === 'string' ? { description: p.description } : {}),
          schema: p,
        });
      }
    }
    const responses: Json = {
      '4XX': {
        description: 'Error',
        content: { 'application/json': { schema: schema(ErrorBodySchema, 'output') } },
      },
    };
    responses['200'] = r.produces
      ? { description: 'OK', content: { [r.produces]: { schema: { type: 'string', format: 'binary' } } } }
      : {
          description: 'OK',
          content: { 'application/json': { schema: r.response ? schema(r.response, 'output') : {} } },
        };
    const op: Json = {
      summary: r.summary,
      tags: [r.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schema(r.body, 'input') } },
            },
          }
        : {}),
      responses,
      ...(r.access === 'public' ? { security: [] } : {}),
      ...(r.access === 'public' || r.access === 'any' ? {} : { 'x-gridwatch-role': r.access }),
    };
    paths[path] = { ...(paths[path] ?? {}), [r.method]: op };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'gridwatch wall API',
      version,
      description:
        'Operator API of the gridwatch gateway. Every route checks the session and the grid scope on the server. ' +
        'Browsers use the HttpOnly session cookie plus X-CSRF-Token on POST/DELETE; API clients send Authorization: Bearer <token>. ' +
        'Every error is JSON {code, message, field?, details?} with a code from the error catalogue (docs/errors.md); ' +
        'GET /api/v1/meta gives the texts of every code, the finding types, and the alert states with the actions each allows, so clients need not repeat them.',
    },
    components: {
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'gw_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
    security: [{ cookie: [] }, { bearer: [] }],
    tags: [
      {
        name: 'meta',
        description: 'Constants for clients (public): finding types, alert states and actions, error texts',
      },
      { name: 'session', description: 'Login, session, logout' },
      { name: 'alerts', description: 'Alerts in your grid scope' },
      { name: 'cameras', description: 'Cameras in your grid scope, live view' },
      { name: 'grids', description: 'The grid tree of your scope' },
      { name: 'admin', description: 'Admin role only' },
    ],
    paths,
  };
}
