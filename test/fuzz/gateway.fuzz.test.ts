/**
 * Fuzz suite against the real gateway (issue 14, item 10; `npm run test:fuzz`): a child process
 * on its own embedded Redis, fed generated input over HTTP (every route of its OpenAPI document
 * plus evidence, live proxy, platform callbacks, health and static files), over Socket.IO (every
 * client event, unknown events, raw packets) and through its watched camera folder. Properties:
 * the process never exits, no reply is a 5xx or carries a stack or an absolute path, a
 * Socket.IO event with an ack is always answered, and no error-level line is logged.
 * FUZZ_SEED=<n> replays a run; the counts are printed at the end.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientPayloadSchemas } from '../../features/wall/socket-events.js';
import { FUZZ_PASSWORD, startGatewayProcess, type GatewayProcess } from './gateway-process.js';
import { leak, rawRequest, type RawReply } from './reply-check.js';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const tally = { http: 0, socket: 0, files: 0, crashes: 0, server5xx: 0, leaks: 0, unanswered: 0, maxMs: 0 };
const failures: string[] = [];

let gw: GatewayProcess;
let admin: { token: string; csrf: string };
let operator: { token: string; csrf: string };

interface Op {
  method: string;
  path: string;
  params: string[];
  query: string[];
  body: string[] | null;
}
let ops: Op[] = [];

async function login(username: string) {
  const r = await fetch(`${gw.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: FUZZ_PASSWORD }),
  });
  expect(r.status).toBe(200);
  const b = (await r.json()) as { token: string; csrfToken: string };
  return { token: b.token, csrf: b.csrfToken };
}

beforeAll(async () => {
  gw = await startGatewayProcess();
  [admin, operator] = [await login('admin'), await login('op')];
  const doc = (await (await fetch(`${gw.url}/api/v1/openapi.json`)).json()) as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const parameters = (op.parameters ?? []) as Array<{ name: string; in: string }>;
      const body = (
        op.requestBody as { content?: Record<string, { schema?: { properties?: object } }> } | undefined
      )?.content?.['application/json']?.schema;
      ops.push({
        method: method.toUpperCase(),
        path,
        params: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: parameters.filter((p) => p.in === 'query').map((p) => p.name),
        body: body ? Object.keys(body.properties ?? {}) : null,
      });
    }
  }
  // Routes outside the OpenAPI document, served by the same server (the platform callbacks are in
  // the document, with their body's fields).
  ops.push(
    { method: 'GET', path: '/evidence/{a}/{b}', params: ['a', 'b'], query: ['exp', 'sig'], body: null },
    { method: 'GET', path: '/media/live/{a}', params: ['a'], query: ['ticket', 'sign'], body: null },
    // Mounted only when configured (events:, departments:); unconfigured here, so this fuzzes
    // the refusal path of those mounts.
    {
      method: 'POST',
      path: '/api/v1/events/{a}',
      params: ['a'],
      query: [],
      body: ['id', 'type', 'at', 'location'],
    },
    { method: 'GET', path: '/api/v1/departments/inbox', params: [], query: ['limit'], body: null },
    {
      method: 'POST',
      path: '/api/v1/departments/whistles/{a}',
      params: ['a'],
      query: [],
      body: ['department', 'note'],
    },
    {
      method: 'POST',
      path: '/api/v1/departments/whistles/{a}/report-in',
      params: ['a'],
      query: [],
      body: ['note'],
    },
    { method: 'GET', path: '/readyz', params: [], query: [], body: null },
    { method: 'GET', path: '/healthz', params: [], query: [], body: null },
    { method: 'GET', path: '/metrics', params: [], query: [], body: null },
    { method: 'GET', path: '/vendor/{a}', params: ['a'], query: [], body: null },
    { method: 'GET', path: '/{a}', params: ['a'], query: [], body: null },
  );
  ops = ops.filter((o) => !(o.method === 'DELETE' && o.path === '/api/v1/session'));
  console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} replays); ${ops.length} HTTP operations`);
}, 120_000);

afterAll(async () => {
  const code = gw ? await gw.stop() : null;
  console.log(
    `\nfuzz: inputs tried ${tally.http + tally.socket + tally.files} (HTTP ${tally.http}, socket ${tally.socket}, watched files ${tally.files}); ` +
      `crashes ${tally.crashes}, 5xx ${tally.server5xx}, leaks ${tally.leaks}, unanswered ${tally.unanswered}; ` +
      `slowest reply ${Math.round(tally.maxMs)} ms; exit on SIGTERM ${code}\n`,
  );
});

function fail(what: string): void {
  if (failures.length < 200) failures.push(what);
}

// ---- generators -------------------------------------------------------------------------

const BAD_ESCAPES = ['%ZZ', '%', '%E4%B8', '%00', '%C0%AF', '%ff%fe', '%2e%2e%2f', '%25%', '%u4e2d'];
const NASTY = [
  '..',
  '.',
  '',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '0',
  '-1',
  '1e999',
  'NaN',
  '中文',
  '😀',
  'a'.repeat(5_000),
];

const segment = fc.oneof(
  fc.constantFrom(...BAD_ESCAPES, ...NASTY.map(encodeURIComponent)),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => encodeURIComponent(s)),
  fc
    .tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...BAD_ESCAPES))
    .map(([a, b]) => encodeURIComponent(a) + b),
);

const queryValue = fc.oneof(
  segment,
  fc.constantFrom('true', 'false', '1', '-5', '99999999999999999999', '1.5', '', '[]', '{}', 'null'),
  fc.integer().map(String),
);
const queryKey = (known: string[]) =>
  fc.oneof(
    known.length ? fc.constantFrom(...known) : fc.constant('x'),
    fc.string({ maxLength: 10 }).map(encodeURIComponent),
    fc.constantFrom('__proto__', 'constructor', 'a[b]', 'a[]', 'limit[0]', '%ZZ', 'scope[$ne]'),
  );
const query = (known: string[]) =>
  fc.oneof(
    fc.constant(''),
    fc
      .array(fc.tuple(queryKey(known), queryValue), { maxLength: 6 })
      .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join('&')),
    fc.constantFrom('%ZZ', '&&&', '=', '==x', 'a=%', '?', '#x'),
  );

const jsonLeaf = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'claim',
    'confirm',
    'reject',
    'admin',
    FUZZ_PASSWORD,
    '330101',
    '9'.repeat(400),
  ),
);
const jsonValue = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    jsonLeaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** A body shaped like the route's: its known fields with values of any type, plus unknown ones. */
const bodyFor = (fields: string[]) =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .tuple(
          fc.subarray(fields.length ? fields : ['x']),
          fc.array(jsonValue, { minLength: 12, maxLength: 12 }),
          fc.dictionary(fc.string({ maxLength: 12 }), jsonValue, { maxKeys: 3 }),
        )
        .map(([keys, vals, extra]) =>
          JSON.stringify({ ...Object.fromEntries(keys.map((k, i) => [k, vals[i]])), ...extra }),
        ),
    },
    { weight: 2, arbitrary: jsonValue.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"a":',
        '[',
        '{"__proto__":{"x":1}}',
        '{"constructor":{"prototype":{}}}',
        'null',
        '1e999',
        '"x"',
        '{"a":1,"a":2}',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 5_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 60_000, max: 2_000_000 }).map((n) => JSON.stringify({ a: 'x'.repeat(n) })),
    },
  );

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=bogus-42',
  'application/json; charset="UTF-8"',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  '',
);

const auth = fc.constantFrom('none', 'admin', 'operator', 'garbage', 'cookie-no-csrf', 'cookie');

const httpInput = fc.integer({ min: 0, max: 10_000 }).chain((i) => {
  const op = ops[i % ops.length]!;
  return fc.record({
    op: fc.constant(op),
    params: fc.array(segment, { minLength: op.params.length, maxLength: op.params.length }),
    query: query(op.query),
    body: op.body || op.method !== 'GET' ? fc.option(bodyFor(op.body ?? []), { freq: 5 }) : fc.constant(null),
    type: contentType,
    auth,
    method: fc.oneof(
      { weight: 9, arbitrary: fc.constant(op.method) },
      { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'HEAD', 'DELETE', 'POST') },
    ),
  });
});

function headersFor(a: string): Record<string, string> {
  switch (a) {
    case 'admin':
      return { authorization: `Bearer ${admin.token}` };
    case 'operator':
      return { authorization: `Bearer ${operator.token}` };
    case 'garbage':
      return { authorization: 'Bearer %ZZ.\u00ff-not-a-token' };
    case 'cookie-no-csrf':
      return { cookie: `gw_session=${admin.token}` };
    case 'cookie':
      return { cookie: `gw_session=${operator.token}`, 'x-csrf-token': operator.csrf };
    default:
      return {};
  }
}

function checkReply(what: string, r: RawReply): void {
  tally.maxMs = Math.max(tally.maxMs, r.ms);
  if (r.status >= 500) {
    tally.server5xx++;
    fail(`${what} → ${r.status} ${r.text.slice(0, 160)}`);
  }
  const l = leak(r.text, [gw.dir]);
  if (l) {
    tally.leaks++;
    fail(`${what} → ${r.status} leaks ${l}: ${r.text.slice(0, 160)}`);
  }
}

function checkAlive(what: string): void {
  if (!gw.alive()) {
    tally.crashes++;
    fail(`gateway exited after ${what}: ${gw.output().slice(-1_500)}`);
    throw new Error(failures.join('\n'));
  }
}

function report(): void {
  const errors = gw.errorLines();
  if (errors.length) fail(`error-level log lines: ${errors.slice(0, 3).join('\n')}`);
  expect(failures, failures.slice(0, 15).join('\n')).toEqual([]);
}

describe('fuzz against a running gateway', () => {
  it('HTTP: every route, generated paths, queries, bodies, content types and credentials', async () => {
    await fc.assert(
      fc.asyncProperty(httpInput, async (x) => {
        let i = 0;
        const path =
          x.op.path.replace(/\{[^}]+\}/g, () => x.params[i++] ?? 'x') + (x.query ? `?${x.query}` : '');
        // A logout with the shared credentials would end the sessions the other properties use.
        const who = x.method === 'DELETE' && x.op.path === '/api/v1/session' ? 'none' : x.auth;
        const headers = {
          ...headersFor(who),
          ...(x.body !== null && x.type ? { 'content-type': x.type } : {}),
        };
        const what = `${x.method} ${path.slice(0, 120)} [${who}${x.body !== null ? `, ${x.type}, ${x.body.length} B body` : ''}]`;
        tally.http++;
        const r = await rawRequest(gw.url, x.method, path, headers, x.body ?? undefined).catch(
          (err: Error) => {
            tally.unanswered++;
            fail(`${what} → ${err.message}`);
            return null;
          },
        );
        if (r) checkReply(what, r);
        checkAlive(what);
        return true;
      }),
      { numRuns: 1_200, seed: SEED },
    );
    report();
  }, 90_000);

  it('Socket.IO: every client event with generated payloads, unknown events and raw packets', async () => {
    const s: Socket = io(gw.url, {
      auth: { token: operator.token, protocol: 1 },
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelay: 50,
    });
    await new Promise<void>((resolve, reject) => {
      s.once('wall:hello', () => resolve());
      s.once('connect_error', reject);
    });
    let ackId = 1_000;
    const emitRaw = (event: string, payloadJson: string, waitMs: number): Promise<unknown> => {
      const id = ++ackId;
      const engine = s.io.engine;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          engine.off('message', onMessage);
          resolve(undefined);
        }, waitMs);
        const onMessage = (data: unknown) => {
          const text = String(data);
          if (!text.startsWith(`3${id}[`)) return;
          clearTimeout(timer);
          engine.off('message', onMessage);
          resolve((JSON.parse(text.slice(String(id).length + 1)) as unknown[])[0]);
        };
        engine.on('message', onMessage);
        engine.send(`2${id}[${JSON.stringify(event)},${payloadJson}]`);
      });
    };
    // Every client event the server declares: a new one is fuzzed without editing this file.
    const KNOWN = Object.keys(ClientPayloadSchemas);
    const socketInput = fc.record({
      event: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...KNOWN) },
        { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
      ),
      payload: fc.oneof(
        { weight: 6, arbitrary: jsonValue.map((v) => JSON.stringify(v)) },
        {
          weight: 3,
          arbitrary: fc
            .record(
              { id: jsonValue, act: jsonValue, since: jsonValue, limit: jsonValue, gridCode: jsonValue },
              { requiredKeys: [] },
            )
            .map((v) => JSON.stringify(v)),
        },
        {
          weight: 1,
          arbitrary: fc.integer({ min: 1, max: 3_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
        },
      ),
    });
    await fc.assert(
      fc.asyncProperty(socketInput, async ({ event, payload }) => {
        tally.socket++;
        const what = `socket ${event} ${payload.slice(0, 100)}`;
        if (!s.connected) await new Promise<void>((r) => s.once('wall:hello', () => r()));
        const ack = (await emitRaw(event, payload, KNOWN.includes(event) ? 5_000 : 50)) as
          { ok?: boolean; error?: { code?: string; message?: string } } | undefined;
        if (KNOWN.includes(event)) {
          if (ack === undefined) {
            tally.unanswered++;
            fail(`${what} → no ack within 5 s`);
          } else if (ack.ok === false && (ack.error?.code === 'GW_INTERNAL' || !ack.error?.code)) {
            tally.server5xx++;
            fail(`${what} → ${JSON.stringify(ack).slice(0, 160)}`);
          } else {
            // A field that is there with the wrong type must not be reported as missing.
            const sent = JSON.parse(payload) as unknown;
            const present =
              sent && typeof sent === 'object' && !Array.isArray(sent)
                ? Object.keys(sent).filter((k) => (sent as Record<string, unknown>)[k] !== undefined)
                : [];
            for (const k of present)
              if (
                [`: ${k}: required field is missing`, `; ${k}: required field is missing`].some((m) =>
                  ack.error?.message?.includes(m),
                )
              )
                fail(`${what} → says ${k} is missing: ${ack.error?.message}`);
            const l = leak(JSON.stringify(ack), [gw.dir]);
            if (l) {
              tally.leaks++;
              fail(`${what} → ack leaks ${l}`);
            }
          }
        }
        checkAlive(what);
        return true;
      }),
      { numRuns: 300, seed: SEED },
    );
    // Packets that are not Socket.IO at all: the server may drop that connection, never the process.
    for (const junk of [
      '2',
      '2[',
      '9999',
      '2[1,2]',
      '2["alert:act"',
      '4{"x":1}',
      '\u0000',
      '2-1["wall:focus",{}]',
      '0/nsp,',
    ]) {
      tally.socket++;
      if (!s.connected) await new Promise<void>((r) => s.once('wall:hello', () => r()));
      s.io.engine.send(junk);
      await new Promise((r) => setTimeout(r, 20));
      checkAlive(`raw packet ${JSON.stringify(junk)}`);
    }
    s.disconnect();
    const again = await rawRequest(gw.url, 'GET', '/healthz', {});
    expect(again.status).toBe(200);
    report();
  }, 90_000);

  it('watched camera folder: generated files are rejected with a reason, the gateway keeps serving', async () => {
    const files = fc.oneof(
      fc.string({ maxLength: 200 }),
      jsonValue.map((v) => `cameras: ${JSON.stringify(v)}\n`),
      fc.constantFrom(
        'cameras:\n  - &a [*a]\n',
        'cameras: !!js/function "function(){}"\n',
        `cameras: ${'['.repeat(2_000)}${']'.repeat(2_000)}\n`,
        'cameras:\n\t- id: x\n',
        'a: &a {b: *a}\ncameras: []\n',
        `cameras:\n  - id: fuzz-1\n    name: x\n    source: { kind: rtsp, url: "rtsp://u:S3CRET-fuzz@10.0.0.1/x" }\n    location: { lon: 999, lat: 30 }\n`,
      ),
    );
    const samples = fc.sample(files, { numRuns: 40, seed: SEED });
    for (const [i, text] of samples.entries()) {
      tally.files++;
      await writeFile(join(gw.dir, 'cameras', `fuzz-${i % 5}.yaml`), text);
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 150));
      checkAlive(`camera file ${JSON.stringify(text.slice(0, 80))}`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const rejected = await rawRequest(gw.url, 'GET', '/api/v1/admin/rejected-cameras', {
      authorization: `Bearer ${admin.token}`,
    });
    checkReply('GET /api/v1/admin/rejected-cameras', rejected);
    expect(rejected.status).toBe(200);
    expect(rejected.text).not.toContain('S3CRET-fuzz');
    expect(gw.output()).not.toContain('S3CRET-fuzz');
    expect((await rawRequest(gw.url, 'GET', '/healthz', {})).status).toBe(200);
    report();
  }, 60_000);
});
