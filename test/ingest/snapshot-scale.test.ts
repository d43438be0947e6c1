import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../core/errors.js';
import { createSnapshotClient } from '../../features/ingest/snapshot-client.js';
import { SnapshotFailure } from '../../features/ingest/snapshot-client.js';
import {
  realJpegFrames,
  startDigestSnapshotServer,
  type DigestSnapshotServer,
} from './digest-snapshot-server.js';
import { camera, startIngest, waitFor, type Harness } from './support.js';

const PASSWORD = 'Sn4p-s3cret!pw';
const WRONG = 'not-the-Pa55word';

describe('snapshot cameras with digest auth, keep-alive and a concurrency limit', () => {
  let server: DigestSnapshotServer;
  let h: Harness;
  const frames = realJpegFrames();

  beforeAll(async () => {
    // Each request is held 150 ms, so requests of different cameras overlap and the limit shows.
    server = await startDigestSnapshotServer({ username: 'admin', password: PASSWORD, frames, delayMs: 150 });
    h = await startIngest(
      { snapshotConcurrency: 3, snapshotSocketsPerHost: 3 },
      { ...process.env, SNAP_OK: PASSWORD, SNAP_BAD: WRONG },
    );
    const cam = (id: string, env: string) =>
      camera({
        id,
        source: { kind: 'snapshot', url: server.url(id), auth: 'digest' },
        credentials: { username: 'admin', password: { env } },
        samplingIntervalSec: 1,
      });
    h.ingest.update([
      ...Array.from({ length: 10 }, (_, i) => cam(`snap-${i}`, 'SNAP_OK')),
      cam('snap-bad', 'SNAP_BAD'),
    ]);
  });

  afterAll(async () => {
    await h?.close();
    await server?.close();
  });

  it('samples real JPEGs through one challenge per camera, few sockets and at most the limit in flight', async () => {
    await waitFor(
      '3 frames from every good camera',
      () =>
        Array.from({ length: 10 }, (_, i) => `snap-${i}`).every(
          (id) => h.frames.filter((f) => f.cameraId === id).length >= 3,
        ),
      60_000,
    );
    const f = h.frames.find((x) => x.cameraId === 'snap-0')!;
    expect([f.jpegWidth, f.jpegHeight]).toEqual([768, 576]);
    expect(f.rgb.length).toBe(512 * 512 * 3);
    const s = server.stats();
    expect(s.maxInFlight).toBeLessThanOrEqual(3);
    expect(s.maxInFlight).toBeGreaterThan(1);
    // keep-alive: a handful of connections for dozens of requests
    expect(s.connections).toBeLessThanOrEqual(6);
    expect(s.served).toBeGreaterThanOrEqual(30);
    // the nonce is reused with a rising nc: no 401 round trip per sample
    expect(s.replays).toBe(0);
    for (let i = 0; i < 10; i++)
      expect(s.challengedByPath[new URL(server.url(`snap-${i}`)).pathname]).toBe(1);
    expect(h.ingest.directory.get('snap-0')).toMatchObject({ state: 'online', ingest: { mode: 'snapshot' } });
  });

  it('a wrong password is the catalogue error, and no password is in any error, status or log', async () => {
    await waitFor(
      'snap-bad misconfigured',
      () => h.ingest.directory.get('snap-bad')?.state === 'misconfigured',
    );
    const st = h.ingest.directory.get('snap-bad')!;
    expect(st.reason).toMatch(
      new RegExp(`^${Codes.GW_CAMERA_AUTH_FAILED}: the camera rejected the credentials \\(HTTP 401\\)`),
    );
    const everything = JSON.stringify(h.ingest.directory.list()) + h.logs() + JSON.stringify(h.findings);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(WRONG);
    // the client alone: the failure's text carries neither password nor the URL's path
    const client = createSnapshotClient({ maxConcurrent: 1 });
    const err = await client
      .fetch({
        url: server.url('direct'),
        auth: 'digest',
        username: 'admin',
        password: WRONG,
        timeoutMs: 5_000,
        width: 64,
        height: 64,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotFailure);
    expect((err as SnapshotFailure).failure.code).toBe(Codes.GW_CAMERA_AUTH_FAILED);
    expect(JSON.stringify({ m: (err as Error).message, f: (err as SnapshotFailure).failure })).not.toContain(
      WRONG,
    );
    // the right password through the same client works (the check is the password, not the client)
    const ok = await client.fetch({
      url: server.url('direct'),
      auth: 'digest',
      username: 'admin',
      password: PASSWORD,
      timeoutMs: 5_000,
      width: 64,
      height: 64,
    });
    expect(ok.rgb.length).toBe(64 * 64 * 3);
    await client.close();
  });

  it('a refused connection is classified, not thrown raw', async () => {
    const client = createSnapshotClient({ maxConcurrent: 1 });
    const err = await client
      .fetch({ url: 'http://127.0.0.1:1/x.jpg', auth: 'none', timeoutMs: 2_000, width: 8, height: 8 })
      .catch((e: unknown) => e);
    expect((err as SnapshotFailure).failure.code).toBe(Codes.GW_CAMERA_CONNECTION_REFUSED);
    await client.close();
  });

  it('refuses an oversized body and a digest algorithm it cannot answer, with catalogue codes', async () => {
    const srv = createServer((req, res) => {
      if (req.url === '/big.jpg')
        res.writeHead(200, { 'content-type': 'image/jpeg' }).end(Buffer.alloc(5_000, 1));
      else
        res
          .writeHead(401, {
            'www-authenticate': 'Digest realm="x", qop="auth", nonce="n1", algorithm=SHA-256',
          })
          .end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const client = createSnapshotClient({ maxConcurrent: 1, maxBytes: 1_000 });
    const big = await client
      .fetch({ url: `${base}/big.jpg`, auth: 'none', timeoutMs: 2_000, width: 8, height: 8 })
      .catch((e: unknown) => e);
    expect((big as SnapshotFailure).failure).toMatchObject({ code: Codes.GW_CAMERA_NOT_IMAGE });
    expect((big as SnapshotFailure).message).toMatch(/larger than 1000 bytes/);
    const sha = await client
      .fetch({
        url: `${base}/a.jpg`,
        auth: 'digest',
        username: 'u',
        password: PASSWORD,
        timeoutMs: 2_000,
        width: 8,
        height: 8,
      })
      .catch((e: unknown) => e);
    expect((sha as SnapshotFailure).failure).toMatchObject({ code: Codes.GW_CAMERA_AUTH_FAILED });
    expect((sha as SnapshotFailure).message).toMatch(/only MD5/);
    expect((sha as SnapshotFailure).message).not.toContain(PASSWORD);
    await client.close();
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  });
});
