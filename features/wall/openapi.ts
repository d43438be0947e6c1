import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ApiAuth, ApiRouteDoc, ApiRouteGroup } from '../../core/http/api-route-doc.js';
import { Codes, ERROR_CATALOGUE, type ErrorCode } from '../../core/errors.js';
import { ErrorBodySchema } from './api-schemas.js';
import type { RouteDef } from './route-table.js';

type Json = Record<string, unknown>;

/**
 * The JSON Schema of a zod schema. A recursive one (the grid tree) refers to itself as `#`,
 * which in an OpenAPI document is the document: it goes to components.schemas (`defs`) instead.
 */
function schema(s: z.ZodType, io: 'input' | 'output', defs: Json): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Json;
  delete out.$schema;
  const text = JSON.stringify(out);
  if (!text.includes('"$ref":"#"')) return out;
  const name = `Recursive_${createHash('sha256').update(text).digest('hex').slice(0, 10)}`;
  const ref = `#/components/schemas/${name}`;
  defs[name] ??= JSON.parse(text.replaceAll('"$ref":"#"', `"$ref":"${ref}"`)) as Json;
  return { $ref: ref };
}

/** Express `/a/:b` under a mount point as an OpenAPI path `/mount/a/{b}`; no trailing slash. */
export function openApiPath(mount: string, path: string): string {
  const joined = `${mount}${path === '/' ? '' : path}`.replace(/\/+$/, '') || '/';
  return joined.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function parametersOf(params: z.ZodType | undefined, query: z.ZodType | undefined, defs: Json): Json[] {
  const out: Json[] = [];
  for (const [where, s] of [
    ['path', params],
    ['query', query],
  ] as const) {
    if (!s) continue;
    const js = schema(s, 'input', defs);
    const props = (js.properties ?? {}) as Record<string, Json>;
    const required = new Set((js.required as string[] | undefined) ?? []);
    for (const [name, p] of Object.entries(props)) {
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(typeof p.description === 'string' ? { description: p.description } : {}),
        schema: p,
      });
    }
  }
  return out;
}

/** Codes every route of an auth kind can give, on top of the route's own. */
const AUTH_ERRORS: Record<ApiAuth, readonly ErrorCode[]> = {
  public: [],
  session: [Codes.GW_UNAUTHORIZED, Codes.GW_CSRF],
  source: [Codes.GW_UNAUTHORIZED],
  'session-or-department': [Codes.GW_UNAUTHORIZED, Codes.GW_CSRF],
  platform: [Codes.GW_UNAUTHORIZED],
};

const SECURITY: Record<ApiAuth, Json[]> = {
  public: [],
  session: [{ cookie: [] }, { bearer: [] }],
  source: [{ sourceSignature: [] }, { sourceKey: [] }],
  'session-or-department': [{ cookie: [] }, { bearer: [] }, { departmentSignature: [] }],
  platform: [{ platformSignature: [] }],
};

/** One reply per catalogue status, naming the codes of that status the route can give. */
function errorResponses(codes: readonly ErrorCode[], envelope: 'bare' | 'ok', defs: Json): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of new Set(codes)) {
    const s = ERROR_CATALOGUE[c].status;
    byStatus.set(s, [...(byStatus.get(s) ?? []), c]);
  }
  const base = schema(ErrorBodySchema, 'output', defs);
  const out: Json = {};
  for (const [status, list] of [...byStatus.entries()].sort((a, b) => a[0] - b[0])) {
    const sorted = [...list].sort();
    const body: Json = {
      ...base,
      properties: {
        ...(base.properties as Json),
        code: { type: 'string', enum: sorted, description: 'Catalogue code (docs/errors.md)' },
      },
    };
    out[String(status)] = {
      description: sorted.map((c) => `${c}: ${ERROR_CATALOGUE[c].en}`).join('; '),
      content: {
        'application/json': {
          schema:
            envelope === 'ok'
              ? {
                  type: 'object',
                  required: ['ok', 'error'],
                  additionalProperties: false,
                  properties: { ok: { type: 'boolean', enum: [false] }, error: body },
                }
              : body,
        },
      },
    };
  }
  return out;
}

function requestBodyOf(r: ApiRouteDoc, defs: Json): Json | null {
  const content: Json = {};
  if (r.body) content['application/json'] = { schema: schema(r.body, 'input', defs) };
  if (r.multipart) {
    const m = r.multipart;
    const fields = m.fields ? schema(m.fields, 'input', defs) : { properties: {}, required: [] };
    const properties: Json = { ...((fields.properties as Json | undefined) ?? {}) };
    const required = [...((fields.required as string[] | undefined) ?? [])];
    const encoding: Json = {};
    if (m.jsonPart) {
      properties[m.jsonPart.name] = schema(m.jsonPart.schema, 'input', defs);
      required.push(m.jsonPart.name);
      encoding[m.jsonPart.name] = { contentType: 'application/json' };
    }
    for (const f of m.files) {
      const file = { type: 'string', format: 'binary', description: f.description };
      properties[f.name] = f.multiple ? { type: 'array', items: file, description: f.description } : file;
      if (f.required) required.push(f.name);
      encoding[f.name] = { contentType: 'image/jpeg, image/png, image/webp' };
    }
    content['multipart/form-data'] = {
      schema: { type: 'object', properties, ...(required.length ? { required } : {}) },
      encoding,
    };
  }
  return Object.keys(content).length ? { required: true, content } : null;
}

function featureOperation(r: ApiRouteDoc, defs: Json): Json {
  const headers = (r.headers ?? []).map((h) => ({
    name: h.name,
    in: 'header',
    required: h.required,
    description: h.description,
    schema: { type: 'string' },
  }));
  const parameters = [...parametersOf(r.params, r.query, defs), ...headers];
  const responses: Json = {};
  for (const ok of r.ok) {
    responses[String(ok.status)] = ok.produces
      ? {
          description: ok.description,
          content: { [ok.produces]: { schema: { type: 'string', format: 'binary' } } },
        }
      : {
          description: ok.description,
          content: { 'application/json': { schema: ok.schema ? schema(ok.schema, 'output', defs) : {} } },
        };
  }
  Object.assign(
    responses,
    errorResponses([...AUTH_ERRORS[r.auth], ...r.errors], r.errorEnvelope ?? 'bare', defs),
  );
  const body = requestBodyOf(r, defs);
  return {
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    tags: [r.tag],
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: body } : {}),
    responses,
    security: SECURITY[r.auth],
  };
}

/**
 * OpenAPI 3.0 document generated from the same zod schemas that validate requests: the wall's
 * route table and the route lists of the features mounted beside it (`groups`).
 */
export function buildOpenApi(
  routes: RouteDef[],
  version: string,
  groups: readonly ApiRouteGroup[] = [],
): Json {
  const paths: Record<string, Json> = {};
  const defs: Json = {};
  const add = (path: string, method: string, op: Json) => {
    if (paths[path]?.[method]) throw new Error(`OpenAPI: ${method.toUpperCase()} ${path} is described twice`);
    paths[path] = { ...(paths[path] ?? {}), [method]: op };
  };
  add('/api/v1/openapi.json', 'get', {
    summary: 'This document',
    tags: ['meta'],
    security: [],
    responses: {
      '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } },
    },
  });
  for (const r of routes) {
    const parameters = parametersOf(r.params, r.query, defs);
    const responses: Json = {
      '4XX': {
        description: 'Error',
        content: { 'application/json': { schema: schema(ErrorBodySchema, 'output', defs) } },
      },
    };
    responses['200'] = r.produces
      ? { description: 'OK', content: { [r.produces]: { schema: { type: 'string', format: 'binary' } } } }
      : {
          description: 'OK',
          content: { 'application/json': { schema: r.response ? schema(r.response, 'output', defs) : {} } },
        };
    const op: Json = {
      summary: r.summary,
      tags: [r.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schema(r.body, 'input', defs) } },
            },
          }
        : {}),
      responses,
      ...(r.access === 'public' ? { security: [] } : {}),
      ...(r.access === 'public' || r.access === 'any' ? {} : { 'x-gridwatch-role': r.access }),
    };
    add(openApiPath('/api/v1', r.path), r.method, op);
  }
  const tags = new Map<string, string>();
  for (const g of groups) {
    for (const t of g.tags) tags.set(t.name, t.description);
    for (const r of g.routes) add(openApiPath(g.mount, r.path), r.method, featureOperation(r, defs));
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
        'GET /api/v1/meta gives the texts of every code, the finding types, and the alert states with the actions each allows, so clients need not repeat them. ' +
        'The optional features (events, departments, workers) appear here only when this gateway mounts them.',
    },
    components: {
      ...(Object.keys(defs).length ? { schemas: defs } : {}),
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'gw_session' },
        bearer: { type: 'http', scheme: 'bearer' },
        sourceSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Gridwatch-Signature',
          description:
            'Events source with auth type hmac (sources.yaml): X-Gridwatch-Source: <id>, X-Gridwatch-Timestamp: <unix seconds>, ' +
            'X-Gridwatch-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">',
        },
        sourceKey: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Events source with auth type apiKey (sources.yaml): X-Gridwatch-Source: <id>, Authorization: Bearer <key>',
        },
        departmentSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Gridwatch-Signature',
          description:
            'A department system (departments.yaml forward.secret): X-Gridwatch-Department: <code>, X-Gridwatch-Timestamp: <unix seconds>, ' +
            'X-Gridwatch-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">',
        },
        platformSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Gridwatch-Signature',
          description:
            'The grid platform of a forwarding target (gateway.yaml forwarding.targets[].secret): X-Gridwatch-Target: <id>, ' +
            'X-Gridwatch-Timestamp: <unix seconds>, X-Gridwatch-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">',
        },
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
      ...[...tags].map(([name, description]) => ({ name, description })),
    ],
    paths,
  };
}
