import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineArgs, samplerArgs, slotToleranceSec } from '../../features/ingest/ffmpeg-sampler.js';
import { mediaPath, vtestH264 } from '../helpers/media.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp-server.js';
import { camera, meanDiff, meanLevel, startIngest, waitFor, type Harness } from './support.js';

const execFileP = promisify(execFile);

describe('keyframe-only sampling from a real RTSP server', () => {
  let rtsp: RtspServer;
  let h: Harness;

  beforeAll(async () => {
    rtsp = await startRtspServer({
      clips: { street: vtestH264(), lobby: mediaPath('one-by-one-person-detection.mp4') },
    });
    h = await startIngest();
    h.ingest.update([
      camera({ id: 'street', source: { kind: 'rtsp', url: rtsp.url('street') }, samplingIntervalSec: 2 }),
      camera({ id: 'lobby', source: { kind: 'rtsp', url: rtsp.url('lobby') }, samplingIntervalSec: 3 }),
      camera({ id: 'demo', source: { kind: 'file', path: vtestH264() }, samplingIntervalSec: 2 }),
      // vtest.avi has a keyframe only every 25 s: keyframe-only sampling cannot serve 2 s
      camera({
        id: 'longgop',
        source: { kind: 'file', path: mediaPath('vtest.avi') },
        samplingIntervalSec: 2,
      }),
    ]);
    await waitFor(
      '6 frames from street, 4 from lobby',
      () => {
        const n = (id: string) => h.frames.filter((f) => f.cameraId === id).length;
        return n('street') >= 6 && n('lobby') >= 4 && n('demo') >= 4 && n('longgop') >= 3;
      },
      60_000,
    );
  });

  afterAll(async () => {
    await h?.close();
    await rtsp?.close();
  });

  it('asks ffmpeg to decode keyframes only', () => {
    const args = samplerArgs({ input: 'rtsp://x', kind: 'rtsp', intervalSec: 5, width: 512, height: 512 });
    expect(args.slice(args.indexOf('-skip_frame'), args.indexOf('-skip_frame') + 2)).toEqual([
      '-skip_frame',
      'nokey',
    ]);
    expect(args.indexOf('-skip_frame')).toBeLessThan(args.indexOf('-i'));
  });

  it('passes exactly one keyframe per interval slot to the RTSP decoder process', async () => {
    const { reader, decoder } = pipelineArgs({
      input: rtsp.url('street'),
      kind: 'rtsp',
      intervalSec: 4,
      width: 512,
      height: 512,
    });
    expect(decoder).toContain('pipe:0');
    // Run the real reader against the RTSP server for 12 s and list what would reach the decoder
    // (asynchronously: the cameras under test keep sampling meanwhile).
    const dir = mkdtempSync(join(tmpdir(), 'gw-picker-'));
    try {
      const out = join(dir, 'kept.nut');
      await execFileP('ffmpeg', [...reader.slice(0, -1), '-t', '12', out]);
      const probe = async (file: string, all: boolean) => {
        const args = ['-v', 'error', ...(all ? [] : ['-read_intervals', '%+12'])];
        const { stdout } = await execFileP('ffprobe', [
          ...args,
          '-show_entries',
          'packet=pts_time,flags',
          '-of',
          'csv=p=0',
          file,
        ]);
        return stdout
          .trim()
          .split('\n')
          .map((l) => ({ t: Number(l.split(',')[0]), key: l.split(',')[1]!.startsWith('K') }));
      };
      const kept = await probe(out, true);
      expect(kept.every((p) => p.key)).toBe(true);
      // the street clip has a keyframe every 2 s: only every second one may pass (one may come
      // up to the slot tolerance early: slotToleranceSec(4) = 1 s)
      for (let i = 1; i < kept.length; i++)
        expect(kept[i]!.t - kept[i - 1]!.t).toBeGreaterThanOrEqual(4 - slotToleranceSec(4));
      expect(kept.length).toBeGreaterThanOrEqual(2);
      const keysInClip = (await probe(vtestH264(), false)).filter((p) => p.key);
      expect(keysInClip.length).toBeGreaterThanOrEqual(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers frames of the right size and real content', () => {
    for (const id of ['street', 'lobby']) {
      const frames = h.frames.filter((f) => f.cameraId === id);
      for (const f of frames) {
        expect(f.width).toBe(512);
        expect(f.height).toBe(512);
        expect(f.rgb.length).toBe(512 * 512 * 3);
        expect([f.jpeg[0], f.jpeg[1]]).toEqual([0xff, 0xd8]);
        expect(meanLevel(f.rgb)).toBeGreaterThan(30);
      }
      expect(frames[0]!.jpegWidth).toBe(768);
      expect(frames[0]!.jpegHeight).toBe(id === 'street' ? 576 : 432);
      // seq counts up from 0 on each connection (a camera whose measured GOP makes the other
      // persistent pipeline cheaper reconnects once in it: mode-choice.ts)
      const seqs = frames.map((f) => f.seq);
      expect(seqs[0]).toBe(0);
      seqs.slice(1).forEach((q, i) => expect(q === 0 || q === seqs[i]! + 1).toBe(true));
      expect(Math.max(...seqs)).toBeGreaterThanOrEqual(2);
    }
  });

  it('samples at the configured interval, not the stream rate', () => {
    for (const [id, interval] of [
      ['street', 2],
      ['lobby', 3],
    ] as const) {
      const t = h.frames.filter((f) => f.cameraId === id).map((f) => f.capturedAt);
      const gaps = t.slice(1).map((v, i) => (v - t[i]!) / 1000);
      const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      // The stream runs at 10 fps; keyframe-only sampling on a fixed grid averages the interval.
      expect(mean).toBeGreaterThan(interval * 0.6);
      expect(mean).toBeLessThan(interval * 1.6);
    }
  });

  it('takes only keyframes (file source: video times are multiples of the 2 s GOP)', () => {
    const times = h.frames.filter((f) => f.cameraId === 'demo').map((f) => f.videoTimeSec!);
    expect(times.length).toBeGreaterThanOrEqual(4);
    for (const t of times) expect(Math.abs(t / 2 - Math.round(t / 2))).toBeLessThan(0.01);
  });

  it('decodes every frame when keyframes are further apart than the interval (file with 25 s GOP)', () => {
    const times = h.frames.filter((f) => f.cameraId === 'longgop').map((f) => f.videoTimeSec!);
    expect(times.slice(0, 3).every((t) => t < 25)).toBe(true);
    // every frame is decoded: samples on the 2 s grid, not on the 25 s keyframes (the first slot
    // after the start opens up to the slot tolerance early: the grid starts at the first frame)
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(2 - slotToleranceSec(2) - 0.01);
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeCloseTo(2, 0);
    expect(h.logs()).toContain('decoding every frame');
  });

  it('frames change over time (not a repeated stale frame)', () => {
    const street = h.frames.filter((f) => f.cameraId === 'street');
    const diffs = street.slice(1).map((f, i) => meanDiff(f.rgb, street[i]!.rgb));
    expect(Math.max(...diffs)).toBeGreaterThan(1);
    expect(diffs.filter((d) => d === 0)).toHaveLength(0);
  });

  it('reports online cameras with lag and counters, no URL in status', () => {
    const s = h.ingest.directory.get('street')!;
    expect(s.state).toBe('online');
    expect(s.framesSampled).toBeGreaterThanOrEqual(6);
    expect(s.lagP95Ms).not.toBeNull();
    expect(JSON.stringify(h.ingest.directory.list())).not.toContain('rtsp://');
    expect(h.ingest.directory.lastFrame('street')?.[0]).toBe(0xff);
  });

  it('exports Prometheus metrics per camera and per state', async () => {
    await new Promise((r) => setTimeout(r, 1_100));
    const text = await h.metrics.metrics();
    expect(text).toMatch(/gridwatch_ingest_samples_total\{camera="street"\} \d+/);
    expect(text).toMatch(/gridwatch_ingest_cameras\{state="online"\} 4/);
    expect(text).toMatch(/gridwatch_ingest_ffmpeg_processes 4/);
    expect(text).toMatch(/gridwatch_ingest_lag_p95_seconds \d/);
  });

  it('hot reload: unchanged cameras keep running, removed ones stop, changed ones restart', async () => {
    const pidStreet = h.ingest.samplerPid('street');
    const pidLobby = h.ingest.samplerPid('lobby');
    expect(pidStreet).toBeDefined();
    h.ingest.update([
      camera({
        id: 'street',
        source: { kind: 'rtsp', url: rtsp.url('street') },
        samplingIntervalSec: 2,
        tags: ['new-tag'],
      }),
      camera({ id: 'lobby', source: { kind: 'rtsp', url: rtsp.url('lobby') }, samplingIntervalSec: 1 }),
    ]);
    expect(h.ingest.samplerPid('street')).toBe(pidStreet);
    expect(h.ingest.directory.get('demo')).toBeUndefined();
    await waitFor(
      'lobby restarted',
      () => h.ingest.samplerPid('lobby') !== undefined && h.ingest.samplerPid('lobby') !== pidLobby,
    );
    const before = h.frames.length;
    await waitFor('frames after reload', () => h.frames.slice(before).some((f) => f.cameraId === 'lobby'));
  });

  it('frames() is an async stream per camera', async () => {
    const ac = new AbortController();
    const got = [];
    for await (const f of h.ingest.frames('street', { signal: ac.signal })) {
      got.push(f);
      if (got.length === 2) break;
    }
    expect(got.map((f) => f.cameraId)).toEqual(['street', 'street']);
    expect(got[1]!.seq).toBeGreaterThan(got[0]!.seq);
  });
});
