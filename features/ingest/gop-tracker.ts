/**
 * Heuristic GOP check from received timestamps (no decoding, no probing). In keyframe-only mode
 * the node sees one picked keyframe per slot, so consecutive sample gaps stay near the interval
 * when keyframes come at least once per interval, and equal the keyframe spacing when they come
 * less often. Three gaps in a row beyond 1.5 intervals mean the keyframes are too far apart. In
 * full-decode mode ffmpeg reports every keyframe's time; three spacings in a row within the
 * interval mean keyframe-only sampling would serve again. A stall (no frames at all) is never
 * evidence: it says nothing about the GOP. Error rate: not measured beyond the tests (a stream
 * whose GOP sits between 1 and 1.5 intervals stays in its current mode).
 */
export function createGopTracker(intervalSec: number, window = 3) {
  const sampleGaps: number[] = [];
  const keyGaps: number[] = [];
  let lastSample: number | null = null;
  let lastKey: number | null = null;
  const push = (a: number[], v: number) => {
    a.push(v);
    if (a.length > window) a.shift();
  };
  return {
    /** A new ffmpeg run starts: gaps across runs are meaningless, the history of gaps is kept. */
    newRun(): void {
      lastSample = null;
      lastKey = null;
    },
    sample(ptsSec: number): void {
      if (lastSample !== null && ptsSec > lastSample) push(sampleGaps, ptsSec - lastSample);
      lastSample = ptsSec;
    },
    keyframe(ptsSec: number): void {
      if (lastKey !== null && ptsSec > lastKey) push(keyGaps, ptsSec - lastKey);
      lastKey = ptsSec;
    },
    /** Keyframe-only mode: the samples show keyframes further apart than the interval. */
    keyframesTooSparse(): boolean {
      return sampleGaps.length >= window && sampleGaps.every((g) => g > 1.5 * intervalSec);
    },
    /** Full-decode mode: the keyframes seen are close enough for keyframe-only sampling. */
    keyframesDenseEnough(): boolean {
      return keyGaps.length >= window && keyGaps.every((g) => g <= intervalSec + 0.25);
    },
    /** Median of the recent keyframe spacings (s), once `window` of them were seen; null before. */
    keyframeSpacingSec(): number | null {
      if (keyGaps.length < window) return null;
      return [...keyGaps].sort((a, b) => a - b)[Math.floor(keyGaps.length / 2)]!;
    },
    /** Longest recent gap between samples (s), to give the stall watchdog room for it. */
    longestSampleGapSec(): number {
      return sampleGaps.length ? Math.max(...sampleGaps) : 0;
    },
    reset(): void {
      sampleGaps.length = 0;
      keyGaps.length = 0;
      lastSample = null;
      lastKey = null;
    },
  };
}
export type GopTracker = ReturnType<typeof createGopTracker>;
