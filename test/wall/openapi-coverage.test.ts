/**
 * The OpenAPI document names every route the gateway mounts under /api/v1, and only those: a
 * gateway built by app/build-gateway.ts with every optional feature on (events, departments,
 * workers) is walked route by route (Wall.routes(), from the Express routers actually mounted)
 * and compared with GET /api/v1/openapi.json, both ways. Then the document is validated against
 * the official OpenAPI 3.0 JSON Schema (@seriousme/openapi-schema-validator, the validator of
 * fastify-openapi-glue, tested on the 2,000+ APIs of APIs.guru), and the rules that schema cannot
 * express (path templates against parameters, $refs that resolve, catalogue statuses) are
 * checked here.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type Gateway } from '../../app/build-gateway.js';
import { createLogger } from '../../core/logger.js';
import { ERROR_CATALOGUE } from '../../core/errors.js';
import { EVENT_KINDS } from '../../features/events/events-config.js';
import { hashPassword } from '../../features/wall/password-hash.js';
import { startTestRedis } from '../helpers/redis.js';
import { GRID_FILE, logSink, PASSWORD } from './helpers/wall-harness.js';

type Op = {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  security?: Array<Record<string, unknown>>;
  tags?: string[];
};
type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Op>>;
  components: { securitySchemes: Record<string, unknown>; schemas?: Record<string, unknown> };
  tags: Array<{ name: string }>;
};

let root: string;
let redis: Awaited<ReturnType<typeof startTestRedis>>;
let gw: Gateway;
let doc: Doc;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'gw-openapi-'));
  redis = await startTestRedis();
  mkdirSync(join(root, 'cameras'));
  mkdirSync(join(root, 'secrets'));
  writeFileSync(join(root, 'secrets', 'src.key'), 'openapi-test-secret-1');
  writeFileSync(
    join(root, 'sources.yaml'),
    `sources:\n  - { id: app, name: 随手拍, auth: { type: hmac, secret: { file: secrets/src.key } }, scope: ['3301'], kinds: [report] }\n`,
  );
  writeFileSync(
    join(root, 'departments.yaml'),
    `departments:\n  - { code: chengguan, name: 区城市管理局, types: [road_obstruction], scope: ['330101'], operators: [admin] }\n`,
  );
  writeFileSync(
    join(root, 'workers.yaml'),
    `workers:\n  - { id: w001, name: 王芳, grids: ['330101001001001'], role: leader }\n`,
  );
  const hash = await hashPassword(PASSWORD);
  writeFileSync(
    join(root, 'gateway.yaml'),
    `http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ngrids: { file: ${JSON.stringify(GRID_FILE)} }\n` +
      `users:\n  - { username: admin, displayName: 管理员, role: admin, scope: '3301', passwordHash: '${hash}' }\n` +
      `events: { sourcesFile: ./sources.yaml }\ndepartments: { file: ./departments.yaml }\nworkers: { file: ./workers.yaml }\n`,
  );
  gw = await buildGateway({
    config: join(root, 'gateway.yaml'),
    roles: ['wall', 'dispatch'],
    redisUrl: redis.url,
    logger: createLogger({ level: 'warn', destination: logSink().stream }),
  });
  doc = (await (await fetch(`${gw.url}/api/v1/openapi.json`)).json()) as Doc;
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await redis?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const opPath = (p: string) => p.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

/**
 * A mounted route with a parameter the document lists one path per value of: the events API
 * takes POST /:kind and documents each kind with its own body.
 */
const EXPANDED: Record<string, string[]> = {
  'POST /api/v1/events/{kind}': EVENT_KINDS.map((k) => `POST /api/v1/events/${k}`),
};

/** `METHOD /path` of every mounted /api/v1 route missing from the document, and of every documented one not mounted. */
function compare(mounted: Array<{ method: string; path: string }>, d: Doc) {
  const served = new Set(
    mounted
      // The wall's API and the platform callbacks: every HTTP API a client is given.
      .filter((r) => r.path.startsWith('/api/v1/') || r.path.startsWith('/api/platform/'))
      .map((r) => `${r.method.toUpperCase()} ${opPath(r.path)}`)
      .flatMap((r) => EXPANDED[r] ?? [r]),
  );
  const documented = new Set(
    Object.entries(d.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
  );
  return {
    undocumented: [...served].filter((r) => !documented.has(r)).sort(),
    notMounted: [...documented].filter((r) => !served.has(r)).sort(),
    served,
  };
}

describe('OpenAPI document against the mounted routers', () => {
  it('names every mounted /api/v1 route, and no route that is not mounted', () => {
    const { undocumented, notMounted, served } = compare(gw.wall!.routes(), doc);
    expect(undocumented).toEqual([]);
    expect(notMounted).toEqual([]);
    // The walk sees the features' routers, not only the wall's own.
    for (const r of [
      'POST /api/v1/events/report',
      'POST /api/v1/events/air_quality',
      'GET /api/v1/alerts/{alertId}/reporter-contact',
      'POST /api/v1/departments/whistles/{alertId}/report-in',
      'GET /api/v1/departments/stats',
      'POST /api/v1/workers/tasks/{alertId}/disposal',
      'GET /api/v1/workers/me',
      'GET /api/v1/alerts/{id}',
      'POST /api/platform/callbacks',
    ])
      expect(served, r).toContain(r);
    expect(served.size).toBeGreaterThan(45);
  });

  it('reports a route whose entry is removed from the document', () => {
    const cut = structuredClone(doc);
    delete cut.paths['/api/v1/workers/dispatch/{alertId}']!.post;
    delete cut.paths['/api/v1/events/parking_overstay'];
    expect(compare(gw.wall!.routes(), cut).undocumented).toEqual([
      'POST /api/v1/events/parking_overstay',
      'POST /api/v1/workers/dispatch/{alertId}',
    ]);
  });
});

describe('the feature routes in the document', () => {
  it('describe auth, bodies (multipart photos) and the catalogue codes each can give', () => {
    const report = doc.paths['/api/v1/events/report']!.post!;
    expect(report.security).toEqual([{ sourceSignature: [] }, { sourceKey: [] }]);
    expect(Object.keys(report.requestBody!.content).sort()).toEqual([
      'application/json',
      'multipart/form-data',
    ]);
    const mp = report.requestBody!.content['multipart/form-data']!.schema as {
      properties: Record<string, { type: string; items?: { format: string } }>;
      required: string[];
    };
    expect(mp.properties.photo?.items?.format).toBe('binary');
    expect(mp.required).toContain('event');
    expect(Object.keys(report.responses).sort()).toEqual([
      '200',
      '202',
      '400',
      '401',
      '403',
      '404',
      '413',
      '415',
      '429',
    ]);
    const r429 = report.responses['429']!.content!['application/json']!.schema as {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    expect(r429.properties.error.properties.code.enum).toEqual(['GW_RATE_LIMITED']);

    const disposal = doc.paths['/api/v1/workers/tasks/{alertId}/disposal']!.post!;
    expect(disposal.security).toEqual([{ cookie: [] }, { bearer: [] }]);
    const form = disposal.requestBody!.content['multipart/form-data']!.schema as {
      properties: Record<string, { format?: string }>;
      required: string[];
    };
    expect(form.properties.photo?.format).toBe('binary');
    expect(form.required.sort()).toEqual(['note', 'photo']);
    const e403 = disposal.responses['403']!.content!['application/json']!.schema as {
      properties: { code: { enum: string[] } };
    };
    expect(e403.properties.code.enum).toEqual(['GW_CSRF', 'GW_FORBIDDEN']);

    const reportIn = doc.paths['/api/v1/departments/whistles/{alertId}/report-in']!.post!;
    expect(reportIn.security).toContainEqual({ departmentSignature: [] });
    expect(doc.paths['/api/v1/departments/stats']!.get!.parameters!.map((p) => p.name).sort()).toEqual([
      'from',
      'gridCode',
      'to',
      'type',
    ]);
  });
});

describe('OpenAPI 3.0 structure', () => {
  it('is a valid OpenAPI 3.0 document by the official schema', async () => {
    const v = new Validator();
    const res = await v.validate(structuredClone(doc) as unknown as Parameters<Validator['validate']>[0]);
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    expect(v.version).toBe('3.0');
  });

  it('the validator refuses a broken document (so the check above can fail)', async () => {
    const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, unknown>> };
    const op = broken.paths['/api/v1/departments/stats']!.get as { responses: unknown };
    op.responses = { ok: { description: 'not a status key' } };
    const res = await new Validator().validate(broken as unknown as Parameters<Validator['validate']>[0]);
    expect(res.valid).toBe(false);
  });

  it('has valid paths, parameters, responses, security and tags', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    const schemes = new Set(Object.keys(doc.components.securitySchemes));
    const tags = new Set(doc.tags.map((t) => t.name));
    const problems: string[] = [];
    const seenOps = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/')) problems.push(`${path}: does not start with /`);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      for (const [method, op] of Object.entries(ops)) {
        const at = `${method.toUpperCase()} ${path}`;
        if (!['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(method))
          problems.push(`${at}: unknown method`);
        seenOps.add(at);
        const params = op.parameters ?? [];
        const inPath = params.filter((p) => p.in === 'path').map((p) => p.name);
        if ([...inPath].sort().join() !== [...templated].sort().join())
          problems.push(`${at}: path parameters ${inPath.join()} ≠ template ${templated.join()}`);
        for (const p of params) {
          if (!['path', 'query', 'header', 'cookie'].includes(p.in))
            problems.push(`${at}: parameter ${p.name} in ${p.in}`);
          if (p.in === 'path' && p.required !== true)
            problems.push(`${at}: path parameter ${p.name} not required`);
          if (!p.schema) problems.push(`${at}: parameter ${p.name} without schema`);
        }
        const keys = params.map((p) => `${p.in}:${p.name.toLowerCase()}`);
        if (new Set(keys).size !== keys.length) problems.push(`${at}: repeated parameter`);
        if (Object.keys(op.responses ?? {}).length === 0) problems.push(`${at}: no responses`);
        for (const [status, r] of Object.entries(op.responses ?? {})) {
          if (!/^([1-5]XX|[1-5]\d\d|default)$/.test(status)) problems.push(`${at}: response key ${status}`);
          if (typeof r.description !== 'string') problems.push(`${at} ${status}: no description`);
          if (/^[1-5]\d\d$/.test(status) && Number(status) >= 400) {
            const s = JSON.stringify(r.content ?? {});
            for (const code of s.match(/GW_[A-Z_]+/g) ?? [])
              if (ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE]?.status !== Number(status))
                problems.push(`${at} ${status}: ${code} has another catalogue status`);
          }
        }
        for (const req of op.security ?? [])
          for (const name of Object.keys(req))
            if (!schemes.has(name)) problems.push(`${at}: security ${name} undefined`);
        for (const t of op.tags ?? [])
          if (!tags.has(t) && !['map', 'stats'].includes(t)) problems.push(`${at}: tag ${t} undeclared`);
        // OpenAPI 3.0 (not 3.1) schema keywords only.
        const body = JSON.stringify(op);
        for (const kw of ['"$schema"', '"const"', '"prefixItems"', '"$defs"', '"unevaluatedProperties"'])
          if (body.includes(kw)) problems.push(`${at}: JSON Schema keyword ${kw} is not OpenAPI 3.0`);
        for (const m of body.matchAll(/"\$ref":"([^"]*)"/g)) {
          const name = /^#\/components\/schemas\/([^/]+)$/.exec(m[1]!)?.[1];
          if (!name || !doc.components.schemas?.[name]) problems.push(`${at}: $ref ${m[1]} does not resolve`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
