import { describe, expect, it } from 'vitest';
import { keyframePickerExpr, slotIndex } from '../../features/ingest/ffmpeg-sampler.js';
import { createGopTracker } from '../../features/ingest/gop-tracker.js';
import { createSlotClock } from '../../features/ingest/slot-clock.js';

describe('slot clock: one grid with the picker, anchor moves only on large jumps', () => {
  it('a keyframe up to the tolerance (I/4, at most 1 s) early counts for its slot; a late one for its own', () => {
    expect(slotIndex(9.05, 0, 10)).toBe(1); // 0.95 s early: the measured RTP jitter
    expect(slotIndex(8.9, 0, 10)).toBe(0);
    expect(slotIndex(16, 0, 10)).toBe(1); // 6 s late: still slot 1, with its wait
    expect(slotIndex(2, 0, 4)).toBe(0); // half an interval early is not the next slot
    expect(slotIndex(3.1, 0, 4)).toBe(1);
    // the reader's keyframe picker evaluates the same grid
    expect(keyframePickerExpr(10)).toContain('floor((pts*tb-ld(0)+1)/10)');
    expect(keyframePickerExpr(2)).toContain('floor((pts*tb-ld(0)+0.5)/2)');
  });

  it('a slow first frame does not move the grid: later frames are on time (the 300-camera artefact)', () => {
    const c = createSlotClock(10);
    const t0 = 1_000_000;
    // first keyframe arrives 1.2 s late (probe), the rest promptly; pts jitter ±0.9 s
    const first = c.observe(0, t0 + 1_200);
    expect(first.lagMs).toBe(0);
    const pts = [10.9, 19.1, 30.4, 39.2, 50.9, 60, 69.1];
    // (each within 1 s of its slot: the picker's tolerance at a 10 s interval)
    const lags = pts.map((p) => c.observe(p, t0 + p * 1000 + 30));
    for (const l of lags) {
      expect(l.kind).toBe('on_time');
      expect(l.deliveryMs).toBeLessThanOrEqual(1_230);
    }
    expect(lags.map((l) => l.slot)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // once a prompt frame set the best case, delivery delay is only the real 30 ms
    expect(lags.at(-1)!.deliveryMs).toBe(0);
    expect(lags.at(-1)!.lagMs).toBeLessThan(50);
    expect(c.counts()).toMatchObject({ late: 0, duplicate: 0, reanchors: 0 });
  });

  it('re-anchors when stream time jumps forward by more than half an interval (RTCP re-base), not on small drops', () => {
    const c = createSlotClock(10);
    c.observe(0, 0);
    expect(c.observe(10, 10_000 - 400).reanchored).toBe(false); // 0.4 s jitter: only the best case moves
    const j = c.observe(1_000, 20_000); // stream time jumped by ~980 s
    expect(j.reanchored).toBe(true);
    expect(j.lagMs).toBeLessThan(5_000);
    expect(c.observe(1_010, 30_000).kind).toBe('on_time');
  });

  it('counts duplicates and late frames separately and splits lag into delivery delay and keyframe wait', () => {
    const c = createSlotClock(10);
    c.observe(0, 0);
    const dup = c.observe(2, 2_000);
    expect(dup.kind).toBe('duplicate');
    const late = c.observe(10, 17_000);
    expect(late).toMatchObject({ kind: 'late', deliveryMs: 7_000, keyframeWaitMs: 0, lagMs: 7_000 });
    const waited = c.observe(24, 24_000);
    expect(waited).toMatchObject({
      slot: 2,
      kind: 'on_time',
      deliveryMs: 0,
      keyframeWaitMs: 4_000,
      lagMs: 4_000,
    });
    const skipped = c.observe(50, 50_000);
    expect(skipped.skippedSlots).toBe(2);
    expect(c.counts()).toMatchObject({ frames: 5, duplicate: 1, late: 1, skipped: 2 });
  });
});

describe('GOP tracker (heuristic): decoding mode from received timestamps only', () => {
  it('samples 25 s apart at a 2 s interval: keyframes too sparse; about the interval: not', () => {
    const g = createGopTracker(2);
    for (const t of [0, 25, 50]) g.sample(t);
    expect(g.keyframesTooSparse()).toBe(false); // two gaps are not enough
    g.sample(75);
    expect(g.keyframesTooSparse()).toBe(true);
    const ok = createGopTracker(10);
    for (const t of [0, 10, 22, 30, 40, 52]) ok.sample(t);
    expect(ok.keyframesTooSparse()).toBe(false);
  });

  it('gaps across ffmpeg runs are not measured (a restart is not a GOP)', () => {
    const g = createGopTracker(2);
    g.sample(0);
    g.newRun();
    g.sample(100);
    g.newRun();
    g.sample(300);
    g.newRun();
    g.sample(900);
    expect(g.keyframesTooSparse()).toBe(false);
  });

  it('full decoding is undone once three keyframe spacings fit the interval', () => {
    const g = createGopTracker(5);
    for (const t of [0, 25, 27, 29]) g.keyframe(t);
    expect(g.keyframesDenseEnough()).toBe(false);
    g.keyframe(31);
    expect(g.keyframesDenseEnough()).toBe(true);
  });
});
