import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyzeResult } from '../../../features/detectors/pipeline/analyze-video.js';
import { mediaPath } from '../../helpers/media.js';
import { camera } from '../core/helpers.js';
import { createRig, type Rig } from './setup.js';

// The high table stands at x 0.50-0.68, y 0.19-0.77 of the frame (looked at frames 5 s and
// 20 s); people stand beside it with their feet at y ≈ 0.88-0.92. The zone takes the floor
// around the table.
const TABLE_ZONE: Array<[number, number]> = [
  [0.38, 0.5],
  [0.84, 0.5],
  [0.84, 1.0],
  [0.38, 1.0],
];
// When someone is at the table, from a 2 s probe of the clip with the model (score ≥ 0.3)
// checked against frames looked at by eye: six visits (7-18, 22-44, 48-68, 72-86, 92-114,
// 122-136 s; the first, a woman CenterNet never saw, found by SSD and confirmed by eye on
// frames every 2 s). Each window below runs from the middle of one gap to the middle of the next.
const VISITS: Array<[number, number]> = [
  [0, 20],
  [20, 46],
  [46, 70],
  [70, 89],
  [89, 118],
  [118, 140],
];

const cam = (dwellSec: number) =>
  camera({
    id: `table-${dwellSec}`,
    samplingIntervalSec: 1,
    detectors: [{ rule: 'loitering', options: { dwellSec, minScore: 0.3 } }],
    zones: [{ id: 'table', name: '高桌', polygon: TABLE_ZONE, rules: ['loitering'] }],
  });

describe('one-by-one-person-detection.mp4: people who stay at a table, one after another', () => {
  let rig: Rig;
  let short: AnalyzeResult;
  beforeAll(async () => {
    // The next person steps into the same spot 4-6 s after the last one left: see
    // FOOTAGE_TRACKER in setup.ts for why the tracker may miss a standing person only 2 samples.
    rig = await createRig();
    short = await rig.analyze(mediaPath('one-by-one-person-detection.mp4'), cam(5));
  }, 300_000);
  afterAll(async () => {
    await rig.close();
  });

  it('raises a dwell finding per visit longer than a short dwell, re-arming after each person leaves', () => {
    const ev = short.events.filter((e) => e.type === 'loitering');
    console.log(
      ev
        .map((e) => `${e.trackIds.join(',')} ${e.start}-${e.end}s raised ${e.raisedAt}s score ${e.score}`)
        .join('\n'),
    );
    const visitOf = (t: number) => VISITS.findIndex(([a, b]) => t >= a && t <= b);
    // Every event lies within one visit and is raised at least the dwell after it started.
    for (const e of ev) {
      expect(visitOf(e.start), `event ${e.start}-${e.end}`).toBeGreaterThanOrEqual(0);
      expect(visitOf(e.start)).toBe(visitOf(e.end));
      expect(e.raisedAt - e.start).toBeGreaterThanOrEqual(5);
    }
    // At least four of the six visits gave an event, one each: each new person is a new event.
    const visits = new Set(ev.map((e) => visitOf(e.start)));
    expect(visits.size).toBeGreaterThanOrEqual(4);
    expect(visits.size).toBe(ev.length);
    expect(new Set(ev.map((e) => e.trackIds[0])).size).toBe(ev.length);
    // Events do not overlap: the rule re-armed after each person left.
    for (let i = 1; i < ev.length; i++) expect(ev[i]!.start).toBeGreaterThanOrEqual(ev[i - 1]!.end);
  }, 180_000);

  it('raises nothing when the dwell is longer than anyone stays', async () => {
    const long = await rig.analyze(mediaPath('one-by-one-person-detection.mp4'), cam(60));
    expect(long.events).toEqual([]);
    // People were there: the model saw a person in the zone in dozens of samples.
    expect(
      long.frames.filter((f) => f.objects.some((o) => o.label === 'person' && o.score >= 0.3)).length,
    ).toBeGreaterThanOrEqual(20);
  }, 180_000);
});
