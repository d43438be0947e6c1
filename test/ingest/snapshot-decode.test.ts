import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../core/errors.js';
import { unitHash as phaseOf } from '../../core/util/string-hash.js';
import { createSnapshotClient, jpegSize, SnapshotFailure } from '../../features/ingest/snapshot-client.js';
import { realJpegFrames } from './digest-snapshot-server.js';
import { camera, startIngest, waitFor } from './support.js';

const frames = realJpegFrames();

/** A plain HTTP snapshot server: GET /NAME answers bodies[NAME] (a function picks per request). */
async function serve(
  bodies: Record<string, () => Buffer>,
): Promise<{ url(n: string): string; close(): Promise<void> }> {
  const srv: Server = createServer((req, res) => {
    const b = bodies[(req.url ?? '/').slice(1)];
    if (!b) return void res.writeHead(404).end();
    const body = b();
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: (n) => `http://127.0.0.1:${port}/${n}`,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

describe('snapshot decoding: the size from the JPEG header, broken images, the decode limit', () => {
  let big: Buffer;
  let server: Awaited<ReturnType<typeof serve>>;
  const truncated = frames[0]!.subarray(0, frames[0]!.length >> 1);
  let truncatedServed = 0;

  beforeAll(async () => {
    // a main-stream sized frame, so a decode lasts long enough for overlaps to show
    big = await sharp(frames[1]!).resize(1920, 1080, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    server = await serve({
      big: () => big,
      // the first answer is cut in half (header intact, scan truncated), then whole frames
      flaky: () => (truncatedServed++ === 0 ? truncated : frames[2]!),
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('reads width and height from the frame header as sharp does, and null for what is not a JPEG', async () => {
    for (const f of frames) {
      const m = await sharp(f).metadata();
      expect(jpegSize(f)).toEqual({ width: m.width, height: m.height });
    }
    // EXIF and ICC segments before the frame header are skipped by their length
    const withMeta = await sharp(frames[0]!)
      .withMetadata({ exif: { IFD0: { Copyright: 'gridwatch' } } })
      .jpeg()
      .toBuffer();
    expect(jpegSize(withMeta)).toEqual({ width: 768, height: 576 });
    const png = await sharp(frames[0]!).png().toBuffer();
    expect(jpegSize(png)).toBeNull();
    expect(jpegSize(Buffer.from('<html>login</html>'))).toBeNull();
    expect(jpegSize(frames[0]!.subarray(0, 20))).toBeNull();
  });

  it('a PNG snapshot still decodes (through sharp metadata) at the asked size', async () => {
    const png = await sharp(frames[0]!).png().toBuffer();
    const srv = await serve({ png: () => png });
    const client = createSnapshotClient({ maxConcurrent: 1 });
    const s = await client.fetch({
      url: srv.url('png'),
      auth: 'none',
      timeoutMs: 5_000,
      width: 64,
      height: 48,
    });
    expect(s.rgb.length).toBe(64 * 48 * 3);
    expect([s.sourceWidth, s.sourceHeight, s.jpegWidth, s.jpegHeight]).toEqual([768, 576, 768, 576]);
    expect(jpegSize(s.jpeg)).toEqual({ width: 768, height: 576 });
    await client.close();
    await srv.close();
  });

  it('a truncated JPEG is GW_CAMERA_NOT_IMAGE on that camera, which keeps sampling (the runner does not crash)', async () => {
    const h = await startIngest();
    try {
      h.ingest.update([
        camera({
          id: 'flaky',
          source: { kind: 'snapshot', url: server.url('flaky') },
          samplingIntervalSec: 1,
        }),
      ]);
      await waitFor(
        'a frame after the broken one',
        () => h.frames.some((f) => f.cameraId === 'flaky'),
        20_000,
      );
      expect(truncatedServed).toBeGreaterThanOrEqual(2);
      expect(h.logs()).toContain(Codes.GW_CAMERA_NOT_IMAGE);
      expect(h.logs()).not.toContain(Codes.GW_CAMERA_INTERNAL);
      expect(h.frames.find((f) => f.cameraId === 'flaky')!.rgb.length).toBe(512 * 512 * 3);
    } finally {
      await h.close();
    }
    // the client alone: the failure is classified, not a raw sharp error
    const client = createSnapshotClient({ maxConcurrent: 1 });
    truncatedServed = 0;
    const err = await client
      .fetch({ url: server.url('flaky'), auth: 'none', timeoutMs: 5_000, width: 64, height: 64 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotFailure);
    expect((err as SnapshotFailure).failure.code).toBe(Codes.GW_CAMERA_NOT_IMAGE);
    await client.close();
  });

  /** Most sharp pipelines running at once while `n` fetches of the big frame are in flight. */
  async function peakDecodes(opts: Parameters<typeof createSnapshotClient>[0], n = 12): Promise<number> {
    const client = createSnapshotClient(opts);
    let peak = 0;
    let done = false;
    const watch = (async () => {
      while (!done) {
        peak = Math.max(peak, sharp.counters().process);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const got = await Promise.all(
      Array.from({ length: n }, () =>
        client.fetch({ url: server.url('big'), auth: 'none', timeoutMs: 20_000, width: 512, height: 512 }),
      ),
    );
    done = true;
    await watch;
    await client.close();
    expect(got.every((s) => s.rgb.length === 512 * 512 * 3 && s.sourceWidth === 1920)).toBe(true);
    // evidence is re-encoded to 1280 wide for a 1920 source
    expect(got[0]!.jpegWidth).toBe(1280);
    return peak;
  }

  it('runs at most decodeConcurrency decodes at once; the reference path has no such limit', async () => {
    expect(await peakDecodes({ maxConcurrent: 12, maxSocketsPerHost: 12, decodeConcurrency: 1 })).toBe(1);
    // the same load without the limit overlaps decodes (libuv's pool runs 4): the check can fail
    expect(
      await peakDecodes({ maxConcurrent: 12, maxSocketsPerHost: 12, decodePath: 'reference' }),
    ).toBeGreaterThan(1);
  });
});

describe('sampling phases', () => {
  it('spread 1,000 sequential camera ids evenly over the interval (no second gets a burst)', () => {
    const perSecond = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) perSecond[Math.floor(phaseOf(`snap-${i}`) * 10)]!++;
    // like random phases (100 ± 3σ); plain FNV-1a gave 38 … 176
    expect(Math.min(...perSecond)).toBeGreaterThanOrEqual(70);
    expect(Math.max(...perSecond)).toBeLessThanOrEqual(130);
    // stable per id: a restart keeps the camera's phase
    expect(phaseOf('snap-7')).toBe(phaseOf('snap-7'));
  });
});
