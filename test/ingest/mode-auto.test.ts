import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../core/errors.js';
import { mediaPath } from '../helpers/media.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp-server.js';
import { camera, startIngest, waitFor, type Harness } from './support.js';

const argv = (pid: number | undefined) => readFileSync(`/proc/${pid!}/cmdline`, 'utf8').split('\0');
const gauge = async (h: Harness, name: string, camera?: string) => {
  const m = (await h.metrics.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((v) => camera === undefined || v.labels.camera === camera)?.value;
};

describe('automatic mode choice against a real RTSP server', () => {
  let rtsp: RtspServer;
  let h: Harness;

  beforeAll(async () => {
    rtsp = await startRtspServer({
      clips: { lobby: mediaPath('one-by-one-person-detection.mp4') },
      gopSec: 2,
    });
    h = await startIngest();
    const url = rtsp.url('lobby');
    h.ingest.update([
      camera({ id: 'every10', source: { kind: 'rtsp', url }, samplingIntervalSec: 10 }),
      camera({ id: 'every2', source: { kind: 'rtsp', url }, samplingIntervalSec: 2 }),
      camera({ id: 'every300', source: { kind: 'rtsp', url }, samplingIntervalSec: 300 }),
    ]);
  });

  afterAll(async () => {
    await h?.close();
    await rtsp?.close();
  });

  it('runs each camera in the mode its interval calls for and says why in its status', async () => {
    await waitFor(
      'three cameras online',
      () => ['every10', 'every2', 'every300'].every((id) => h.ingest.directory.get(id)?.state === 'online'),
      60_000,
    );
    const st = (id: string) => h.ingest.directory.get(id)!.ingest!;
    expect(st('every10')).toMatchObject({ mode: 'pair', intervalSec: 10, effectiveIntervalSec: 10 });
    expect(st('every10').modeReason).toMatch(/packet selection decodes one keyframe per sample/);
    expect(st('every2').mode).toBe('single');
    expect(st('every300')).toMatchObject({ mode: 'burst' });
    expect(st('every300').modeReason).toMatch(/costs less than a held stream/);
    // The processes really are what the status says: the pair's reader selects packets, the
    // single process decodes keyframes itself.
    expect(argv(h.ingest.samplerPid('every10')).join(' ')).toMatch(/noise=drop=/);
    const single = argv(h.ingest.samplerPid('every2')).join(' ');
    expect(single).toMatch(/-skip_frame nokey/);
    expect(single).not.toMatch(/noise=drop/);
    expect(await gauge(h, 'gridwatch_ingest_cameras_by_mode')).toBeDefined();
  });

  it('single mode measures the GOP and keeps its choice with the measured figure', async () => {
    await waitFor(
      'GOP measured',
      () => /GOP 2\.0 s/.test(h.ingest.directory.get('every2')!.ingest!.modeReason),
      30_000,
    );
    expect(h.ingest.directory.get('every2')!.ingest!.mode).toBe('single');
  });
});

describe('a full decode budget degrades low-priority cameras first', () => {
  let rtsp: RtspServer;
  let h: Harness;

  beforeAll(async () => {
    rtsp = await startRtspServer({
      clips: { lobby: mediaPath('one-by-one-person-detection.mp4') },
      gopSec: 1,
    });
    // 3 cameras at 1 s ask for 3 decodes/s; the node allows 1.5.
    h = await startIngest({ maxDecodesPerSec: 1.5 });
  });

  afterAll(async () => {
    await h?.close();
    await rtsp?.close();
  });

  it('keeps the scheduled camera at its interval, stretches the others, shows it, and gives it back', async () => {
    const url = rtsp.url('lobby');
    const ruled = camera({
      id: 'ruled',
      source: { kind: 'rtsp', url },
      samplingIntervalSec: 1,
      detectors: [{ rule: 'illegal_parking' }],
    });
    const plain = (id: string) => camera({ id, source: { kind: 'rtsp', url }, samplingIntervalSec: 1 });
    h.ingest.update([ruled, plain('plain1'), plain('plain2')]);
    const get = (id: string) => h.ingest.directory.get(id)!;
    await waitFor(
      'plain cameras degraded by the budget',
      () =>
        ['plain1', 'plain2'].every((id) => get(id).reason?.startsWith(Codes.GW_CAMERA_INTERVAL_STRETCHED)),
      60_000,
    );
    await waitFor('ruled camera online', () => get('ruled').state === 'online', 30_000);
    expect(get('ruled').ingest).toMatchObject({ intervalSec: 1, effectiveIntervalSec: 1 });
    for (const id of ['plain1', 'plain2']) {
      expect(get(id)).toMatchObject({
        state: 'degraded',
        ingest: { intervalSec: 1, effectiveIntervalSec: 4 },
      });
      expect(get(id).reason).toMatch(/sampled every 4\.0 s instead of 1 s \(no rule in its schedule window/);
      // still sampling: degraded, not behind
      expect(get(id).framesSampled).toBeGreaterThan(0);
    }
    await waitFor('metrics refreshed', async () => true);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await gauge(h, 'gridwatch_ingest_effective_interval_seconds', 'plain1')).toBe(4);
    expect(await gauge(h, 'gridwatch_ingest_stretched_cameras')).toBe(2);
    expect(h.ingest.stats()).toMatchObject({ decodeDemand: 3, decodeGranted: 1.5, stretched: 2 });
    // The scheduled camera leaves: the budget has room for 1.5 s intervals and the pipelines
    // restart at it.
    h.ingest.update([plain('plain1'), plain('plain2')]);
    await waitFor(
      'intervals given back',
      () => ['plain1', 'plain2'].every((id) => get(id).ingest?.effectiveIntervalSec === 1.5),
      30_000,
    );
    expect(h.ingest.stats().stretched).toBe(2);
  });
});
