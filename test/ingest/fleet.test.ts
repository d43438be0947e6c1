import { Codes } from '../../core/errors.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecodeBudget } from '../../features/ingest/decode-budget.js';
import { mediaPath, vtestH264 } from '../helpers/media.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp-server.js';
import { camera, startIngest, waitFor, type Harness } from './support.js';

describe('decode budget', () => {
  it('caps ffmpeg processes and grants waiting cameras by priority, then arrival', async () => {
    const b = createDecodeBudget({ maxFfmpeg: 2, maxDecodesPerSec: 100, staggerMs: 0 });
    const granted: string[] = [];
    const take = (id: string, priority: number) =>
      b.acquire({ cameraId: id, ffmpeg: true, rate: 0.2, priority }).then((l) => (granted.push(id), l));
    const a = await take('a', 0);
    await take('b', 0);
    const c = take('c', 0);
    const d = take('d', 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(granted).toEqual(['a', 'b']);
    expect(b.stats()).toMatchObject({ ffmpeg: 2, waiting: 2 });
    a.release();
    await d;
    expect(granted).toEqual(['a', 'b', 'd']);
    a.release(); // idempotent: does not free a second slot
    await new Promise((r) => setTimeout(r, 20));
    expect(granted).toHaveLength(3);
    b.close();
    await expect(c).rejects.toMatchObject({ code: 'GW_CLOSED' });
  });

  it('caps the decode rate', async () => {
    const b = createDecodeBudget({ maxFfmpeg: 100, maxDecodesPerSec: 1, staggerMs: 0 });
    await b.acquire({ cameraId: 'a', ffmpeg: true, rate: 0.5, priority: 0 });
    await b.acquire({ cameraId: 'b', ffmpeg: true, rate: 0.5, priority: 0 });
    let third = false;
    const c = b.acquire({ cameraId: 'c', ffmpeg: true, rate: 0.5, priority: 0 }).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBe(false);
    b.close();
    await expect(c).rejects.toMatchObject({ code: 'GW_CLOSED' });
  });

  it('staggers grants so a fleet does not connect at once', async () => {
    const b = createDecodeBudget({ maxFfmpeg: 100, maxDecodesPerSec: 100, staggerMs: 40 });
    const times: number[] = [];
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((id) =>
        b.acquire({ cameraId: id, ffmpeg: true, rate: 0.1, priority: 0 }).then(() => times.push(Date.now())),
      ),
    );
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(35);
    b.close();
  });
});

describe('fleet modes against a real RTSP server', () => {
  let rtsp: RtspServer;
  let h: Harness;

  beforeAll(async () => {
    rtsp = await startRtspServer({ clips: { lobby: mediaPath('one-by-one-person-detection.mp4') } });
    h = await startIngest({ maxFfmpeg: 1 });
    h.ingest.update([
      camera({
        id: 'burst',
        source: { kind: 'rtsp', url: rtsp.url('lobby') },
        mode: 'burst',
        samplingIntervalSec: 3,
      }),
      camera({ id: 'snapmode', source: { kind: 'rtsp', url: rtsp.url('lobby') }, mode: 'snapshot' }),
    ]);
  });

  afterAll(async () => {
    await h?.close();
    await rtsp?.close();
  });

  it('burst mode connects, takes one keyframe, disconnects, on the interval', async () => {
    await waitFor('3 burst frames', () => h.frames.filter((f) => f.cameraId === 'burst').length >= 3, 40_000);
    const frames = h.frames.filter((f) => f.cameraId === 'burst');
    // scheduled on a fixed grid of the interval
    const sched = frames.map((f) => f.scheduledAt!);
    for (let i = 1; i < sched.length; i++) expect(sched[i]! - sched[i - 1]!).toBeGreaterThanOrEqual(3_000);
    for (const f of frames) expect(f.capturedAt).toBeGreaterThanOrEqual(f.scheduledAt!);
    expect(h.ingest.directory.get('burst')).toMatchObject({ state: 'online', restarts: 0 });
    expect(h.ingest.directory.get('burst')!.lagP95Ms).toBeGreaterThan(0);
  });

  it('snapshot mode on an RTSP-only camera is a configuration error', async () => {
    await waitFor(
      'snapmode misconfigured',
      () => h.ingest.directory.get('snapmode')?.state === 'misconfigured',
    );
    expect(h.ingest.directory.get('snapmode')!.reason).toMatch(
      new RegExp(`^${Codes.GW_CAMERA_MODE_UNSUPPORTED}: mode snapshot needs a snapshot or onvif source`),
    );
  });
});

describe('a stream that changes resolution', () => {
  let h: Harness;
  let rtsp: RtspServer;
  afterAll(async () => {
    await h?.close();
    await rtsp?.close();
  });

  it('keeps sampling and reports degraded with the old and new size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-res-'));
    const part = (name: string, size: string, from: number) => {
      const out = join(dir, name);
      execFileSync('ffmpeg', [
        '-loglevel',
        'error',
        '-ss',
        String(from),
        '-t',
        '6',
        '-i',
        vtestH264(),
        '-vf',
        `scale=${size}`,
        '-an',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-g',
        '10',
        '-bf',
        '0',
        '-x264-params',
        'repeat-headers=1',
        '-f',
        'mpegts',
        out,
      ]);
      return readFileSync(out);
    };
    const clip = join(dir, 'switch.ts');
    // Byte-concatenated MPEG-TS: the SPS changes mid-stream, as when someone reconfigures a camera.
    writeFileSync(clip, Buffer.concat([part('a.ts', '768:576', 0), part('b.ts', '640:360', 10)]));
    rtsp = await startRtspServer({ clips: { switch: clip } });
    h = await startIngest();
    const states: string[] = [];
    h.ingest.directory.onState((s) => states.push(`${s.state}:${s.reason ?? ''}`));
    h.ingest.update([
      camera({ id: 'switch', source: { kind: 'rtsp', url: rtsp.url('switch') }, samplingIntervalSec: 1 }),
    ]);
    await waitFor(
      'resolution change reported',
      () => states.find((s) => s.startsWith(`degraded:${Codes.GW_CAMERA_RESOLUTION_CHANGED}`)),
      30_000,
    );
    expect(states.find((s) => s.startsWith('degraded:'))).toMatch(/(768x576 to 640x360|640x360 to 768x576)/);
    // the pipeline restarts at the new size, so evidence JPEGs come at the real size
    await waitFor('frames at both sizes', () => new Set(h.frames.map((f) => f.jpegWidth)).size === 2, 30_000);
    const sizes = new Set(h.frames.map((f) => `${f.jpegWidth}x${f.jpegHeight}`));
    expect(sizes).toEqual(new Set(['768x576', '640x360']));
    for (const f of h.frames) expect(f.rgb.length).toBe(512 * 512 * 3);
  });
});
