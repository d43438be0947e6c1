import { describe, expect, it } from 'vitest';
import type { TrackedObject } from '../../../features/detectors/plugin-api/contract.js';
import { createFirstSeenFrames } from '../../../features/detectors/pipeline/first-seen-frames.js';

const track = (trackId: string, firstSeen: number, hits: number, label = 'car'): TrackedObject => ({
  trackId,
  label,
  score: 0.8,
  box: { x1: 0.1, y1: 0.1, x2: 0.2, y2: 0.2 },
  firstSeen,
  lastSeen: firstSeen,
  stationarySince: null,
  missed: 0,
  hits,
});
const frame = (n: number) => ({ jpeg: new Uint8Array([n, n, n]), jpegWidth: 4, jpegHeight: 3 });

describe('first-seen frames (the alert’s first-seen evidence)', () => {
  it('keeps the frame a relevant track was born in, with its box then, and forgets ended tracks', () => {
    const f = createFirstSeenFrames(4);
    const src = frame(1);
    f.note([track('v', 0, 1), track('p', 0, 1, 'person')], src, 0, (t) => t.label === 'car');
    const v = f.get('v')!;
    expect(v).toMatchObject({ at: 0, jpegWidth: 4, box: { label: 'car', x1: 0.1 } });
    expect(f.get('p')).toBeUndefined();
    // A copy: ingest may reuse its buffer.
    src.jpeg[0] = 9;
    expect(v.jpeg[0]).toBe(1);
    f.note([track('v', 0, 2)], frame(2), 1000, () => true);
    expect(f.get('v')!.jpeg[0]).toBe(1);
    f.note([], frame(3), 2000, () => true);
    expect(f.get('v')).toBeUndefined();
    expect(f.frames()).toBe(0);
  });

  it('over the bound, lets go of the walkers’ frames and keeps the parked vehicle’s', () => {
    const f = createFirstSeenFrames(3);
    const live: TrackedObject[] = [track('van', 0, 1)];
    f.note(live, frame(0), 0, () => true);
    for (let i = 1; i <= 10; i++) {
      live[0] = { ...live[0]!, hits: i + 1 };
      // One passer-by born each sample, alive for a few samples.
      live.push(track(`w${i}`, i * 1000, 1));
      f.note(live, frame(i), i * 1000, () => true);
      expect(f.frames()).toBeLessThanOrEqual(3);
    }
    expect(f.get('van')!.jpeg[0]).toBe(0);
    // The newest track always gets its frame.
    expect(f.get('w10')).toBeDefined();
  });
});
