import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers/wall-harness.js';
import { connected, wallClient, type WallClient } from './helpers/socket-client.js';

/**
 * Malformed requests get a 4xx catalogue error as JSON from the one error handler, on every
 * route family (API, evidence, live proxy, platform callbacks, static files): never a 5xx,
 * a stack, an absolute path or an error-level log line.
 */
let h: Harness;
const clients: WallClient[] = [];

/** A raw HTTP request: the path goes on the wire exactly as written (no URL normalising). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<{ status: number; type: string; text: string; json: Record<string, unknown> | null }> {
  const u = new URL(h.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path, headers: { ...headers, connection: 'close' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const type = String(res.headers['content-type'] ?? '');
          let json: Record<string, unknown> | null = null;
          if (type.includes('json')) json = JSON.parse(text) as Record<string, unknown>;
          resolve({ status: res.statusCode ?? 0, type, text, json });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

let ackId = 9_000;
/** Sends a Socket.IO EVENT packet with an ack id as raw text and resolves with the ack. */
function rawEmit(s: WallClient, event: string, payloadJson: string): Promise<unknown> {
  const id = ++ackId;
  const engine = s.io.engine;
  return new Promise((resolve) => {
    const onMessage = (data: unknown) => {
      const text = String(data);
      const head = `3${id}[`;
      if (!text.startsWith(head)) return;
      engine.off('message', onMessage);
      resolve((JSON.parse(text.slice(head.length - 1)) as unknown[])[0]);
    };
    engine.on('message', onMessage);
    engine.send(`2${id}[${JSON.stringify(event)},${payloadJson}]`);
  });
}

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const errorLines = () => h.logs.lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);

function expectClean(
  r: { status: number; text: string; json: Record<string, unknown> | null },
  code: string,
) {
  expect(r.json, r.text.slice(0, 200)).not.toBeNull();
  expect(r.json?.code).toBe(code);
  expect(r.status).toBeGreaterThanOrEqual(400);
  expect(r.status).toBeLessThan(500);
  expect(r.text).not.toContain(process.cwd());
  expect(r.text).not.toMatch(/\/(work|home|tmp|usr)\//);
  expect(r.text).not.toMatch(/\bat .+:\d+:\d+/);
}

beforeAll(async () => {
  h = await startHarness({ logLevel: 'debug' });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await h?.close();
});

describe('JSON depth and size', () => {
  it('10,000-deep JSON on the public POST /api/v1/session is 400, at the top or inside a field', async () => {
    const before = errorLines().length;
    for (const body of [deep(10_000), `{"username":${deep(10_000)},"password":"x"}`]) {
      const r = await raw('POST', '/api/v1/session', { 'content-type': 'application/json' }, body);
      expect(r.status).toBe(400);
      expectClean(r, 'GW_VALIDATION');
      expect(String(r.json?.message)).toMatch(/nested deeper than 32/);
    }
    expect(errorLines().length).toBe(before);
  });

  it('10,000-deep JSON over a socket is a GW_VALIDATION ack, not GW_INTERNAL', async () => {
    const before = errorLines().length;
    const s = wallClient(h.url, (await h.login('zhangwei')).token);
    clients.push(s);
    await connected(s);
    // The client's encoder walks payloads recursively itself, so the packet goes on the wire raw.
    const r = await rawEmit(s, 'alert:act', `{"id":"x","act":${deep(10_000)}}`);
    expect(r).toMatchObject({ ok: false, error: { code: 'GW_VALIDATION' } });
    const sync = await rawEmit(s, 'alerts:sync', deep(10_000));
    expect(sync).toMatchObject({ ok: false, error: { code: 'GW_VALIDATION' } });
    expect(errorLines().length).toBe(before);
  });

  it('a body over 64 KB is 413 GW_BODY_TOO_LARGE, on the API and on platform callbacks', async () => {
    const big = JSON.stringify({ username: 'x', password: 'y'.repeat(70_000) });
    const api = await raw('POST', '/api/v1/session', { 'content-type': 'application/json' }, big);
    expect(api.status).toBe(413);
    expectClean(api, 'GW_BODY_TOO_LARGE');
    const cb = await raw('POST', '/api/platform/callbacks', { 'content-type': 'application/json' }, big);
    expect(cb.status).toBe(413);
    expectClean(cb, 'GW_BODY_TOO_LARGE');
  });
});

describe('content type and charset', () => {
  it('application/json; charset=latin1 is 415; no or UTF-8 charset is accepted', async () => {
    const body = JSON.stringify({ username: 'nobody', password: 'wrong-password' });
    const latin = await raw(
      'POST',
      '/api/v1/session',
      { 'content-type': 'application/json; charset=latin1' },
      body,
    );
    expect(latin.status).toBe(415);
    expectClean(latin, 'GW_UNSUPPORTED_MEDIA_TYPE');
    const text = await raw('POST', '/api/v1/session', { 'content-type': 'text/plain' }, body);
    expect(text.status).toBe(415);
    expectClean(text, 'GW_UNSUPPORTED_MEDIA_TYPE');
    for (const type of ['application/json', 'application/json; charset=utf-8']) {
      const ok = await raw('POST', '/api/v1/session', { 'content-type': type }, body);
      expect(ok.status, type).toBe(401); // parsed and checked: a wrong password
    }
  });

  it('broken JSON is 400 naming the body', async () => {
    const r = await raw('POST', '/api/v1/session', { 'content-type': 'application/json' }, '{"username":');
    expect(r.status).toBe(400);
    expectClean(r, 'GW_VALIDATION');
    expect(r.json?.field).toBe('(body)');
  });
});

describe('bad percent-encoding in a path is 400 on every route family', () => {
  it.each([
    ['GET', '/api/v1/alerts/%ZZ'],
    ['POST', '/api/v1/alerts/%ZZ/actions'],
    ['GET', '/api/v1/cameras/%E0%A4%A'],
    ['GET', '/evidence/%ZZ/x.jpg'],
    ['GET', '/media/live/%ZZ'],
  ])('%s %s', async (method, path) => {
    const before = errorLines().length;
    const s = await h.login('admin');
    const r = await raw(method, path, { authorization: `Bearer ${s.token}` });
    expect(r.status).toBe(400);
    expectClean(r, 'GW_VALIDATION');
    expect(errorLines().length).toBe(before);
  });
});

describe('no Express page', () => {
  it('unknown paths outside the API, and static paths that do not decode, answer JSON 404', async () => {
    for (const path of ['/no/such/page', '/%ZZ', '/vendor/%ZZ.js']) {
      const r = await raw('GET', path);
      expect(r.status, path).toBe(404);
      expectClean(r, 'GW_NOT_FOUND');
    }
  });
});
