import { describe, expect, it } from 'vitest';
import { createDecodeBudget, STRETCH_STEPS } from '../../features/ingest/decode-budget.js';
import { chooseMode, modeCostMsPerSec } from '../../features/ingest/mode-choice.js';
import { camera } from './support.js';

const rtsp = (samplingIntervalSec: number, extra: Record<string, unknown> = {}) =>
  camera({ id: 'c', source: { kind: 'rtsp', url: 'rtsp://127.0.0.1:1/x' }, samplingIntervalSec, ...extra });
const choose = (
  cam: ReturnType<typeof rtsp>,
  gopSec: number | null = null,
  pipeline: 'auto' | 'pair' | 'single' = 'auto',
) => chooseMode({ cam, gopSec, fullDecode: false, pipeline });

describe('mode choice', () => {
  it('picks the cheapest mode for the interval and GOP, with the reason', () => {
    // 10 s on a 2 s GOP: the pair decodes 1 keyframe per sample, a single process 5.
    expect(choose(rtsp(10), 2)).toMatchObject({
      mode: 'pair',
      reason: expect.stringMatching(/packet selection/),
    });
    // 1 s on a 2 s GOP: every keyframe is a sample anyway; one process is cheaper.
    expect(choose(rtsp(1), 2)).toMatchObject({
      mode: 'single',
      reason: expect.stringMatching(/one process/),
    });
    // A long interval: a connection per sample costs less than holding the stream.
    const long = choose(rtsp(300), 2);
    expect(long.mode).toBe('burst');
    expect(long.reason).toMatch(/a connection per sample .* costs less than a held stream/);
    expect(modeCostMsPerSec('burst', 300, 2)).toBeLessThan(modeCostMsPerSec('pair', 300, 2));
    expect(modeCostMsPerSec('burst', 10, 2)).toBeGreaterThan(modeCostMsPerSec('pair', 10, 2));
  });

  it('honours the configured mode, the source kind and the operator override', () => {
    expect(choose(rtsp(300, { mode: 'persistent' }), 2).mode).toBe('pair');
    expect(choose(rtsp(10, { mode: 'burst' })).reason).toBe('mode burst is configured');
    expect(choose(rtsp(10), 2, 'single')).toMatchObject({
      mode: 'single',
      reason: expect.stringMatching(/persistentPipeline/),
    });
    const snap = camera({ id: 's', source: { kind: 'snapshot', url: 'http://127.0.0.1:1/a.jpg' } });
    expect(choose(snap).mode).toBe('snapshot');
    const file = camera({ id: 'f', source: { kind: 'file', path: 'x.mp4' }, samplingIntervalSec: 300 });
    expect(choose(file).mode).toBe('single');
    expect(chooseMode({ cam: rtsp(2), gopSec: 8, fullDecode: true, pipeline: 'auto' })).toMatchObject({
      mode: 'full',
      reason: expect.stringMatching(/8\.0 s apart, more than the 2 s interval/),
    });
    expect(choose(rtsp(10)).reason).toMatch(/GOP not measured \(2 s assumed\)/);
  });
});

describe('decode shares', () => {
  it('stretches low-priority cameras first, in steps, and gives the time back when demand falls', () => {
    const b = createDecodeBudget({ maxFfmpeg: 100, maxDecodesPerSec: 1.5, staggerMs: 0 });
    const high = b.share({ cameraId: 'h', rate: 1, priority: 1 });
    const lows = [
      b.share({ cameraId: 'l1', rate: 1, priority: 0 }),
      b.share({ cameraId: 'l2', rate: 1, priority: 0 }),
    ];
    // 3 decodes/s asked for, 1.5 allowed: the scheduled camera keeps its interval, the others
    // share the 0.5 left (2 / 4 = 0.5).
    expect(high.stretch()).toBe(1);
    expect(lows.map((l) => l.stretch())).toEqual([4, 4]);
    expect(b.stats()).toMatchObject({ demand: 3, granted: 1.5, stretched: 2 });
    high.release();
    expect(lows.map((l) => l.stretch())).toEqual([1.5, 1.5]);
    // A rule's schedule opening raises the priority: that camera is stretched last.
    lows[0]!.update({ priority: 1 });
    expect(lows.map((l) => l.stretch())).toEqual([1, 2]);
    lows[1]!.release();
    expect(lows[0]!.stretch()).toBe(1);
    expect(b.stats()).toMatchObject({ demand: 1, granted: 1, stretched: 0 });
    b.close();
  });

  it('stretches scheduled cameras too only when they alone exceed the budget, capped at the last step', () => {
    const b = createDecodeBudget({ maxFfmpeg: 100, maxDecodesPerSec: 1, staggerMs: 0 });
    const hs = [1, 2, 3].map((i) => b.share({ cameraId: `h${i}`, rate: 1, priority: 1 }));
    const low = b.share({ cameraId: 'l', rate: 1, priority: 0 });
    expect(hs.map((h) => h.stretch())).toEqual([3, 3, 3]);
    expect(low.stretch()).toBe(STRETCH_STEPS[STRETCH_STEPS.length - 1]);
    const many = Array.from({ length: 20 }, (_, i) => b.share({ cameraId: `m${i}`, rate: 1, priority: 1 }));
    // 23 decodes/s at most 6x stretched is still over budget: the lag shows it, nothing waits for ever.
    expect(many[0]!.stretch()).toBe(6);
    expect(b.stats().granted).toBeGreaterThan(1);
    b.close();
  });
});
