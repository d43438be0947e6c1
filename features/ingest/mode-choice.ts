import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';

/**
 * How a camera is sampled, as the runner's state machine runs it:
 * - `pair`: persistent stream, reader ffmpeg picks one keyframe per slot by packet selection, a
 *   decoder ffmpeg decodes only those (one keyframe decoded per sample, two processes);
 * - `single`: persistent stream, one ffmpeg decodes every keyframe and keeps one per slot;
 * - `full`: persistent stream, every frame decoded (keyframes further apart than the interval);
 * - `burst`: connect, take one keyframe, disconnect, once per interval;
 * - `snapshot`: one HTTP JPEG per interval.
 */
export type IngestMode = 'pair' | 'single' | 'full' | 'burst' | 'snapshot';

export interface ModeChoice {
  mode: IngestMode;
  /** One line for operators: why this mode (shown in the camera's status). */
  reason: string;
}

/**
 * CPU cost of each mode on this node class, in milliseconds of CPU, from `npm run bench:ingest`
 * (bench/RESULTS.md, "Ingest modes side by side (issue 12)": sub-stream 640x360 15 fps, GOP 2 s, 2-core
 * EPYC). `holdMsPerSec`: what a held stream costs per second whether or not a sample is due
 * (packets read and, for `single`, keyframes decoded per second of GOP); `perSampleMs`: what one
 * sample adds (for `single` per keyframe decoded; for `burst` the whole connect-probe-decode).
 * A heuristic: a camera whose bitrate or resolution differs costs in proportion, the ranking
 * does not change much; the bench is the measurement.
 */
export interface ModeCosts {
  pair: { holdMsPerSec: number; perSampleMs: number };
  single: { holdMsPerSec: number; perKeyframeMs: number };
  burst: { perSampleMs: number };
}

// 40 cameras per mode, one run: pair 2.8 ms/s, single 4.6 ms/s at a 10 s interval, burst 1.7 ms/s at
// 60 s; the split between held and per-sample cost is the cliff diagnosis's (reader vs decoder).
export const MEASURED_COSTS: ModeCosts = {
  pair: { holdMsPerSec: 1.7, perSampleMs: 11 },
  single: { holdMsPerSec: 1.7, perKeyframeMs: 5.8 },
  burst: { perSampleMs: 103 },
};

/** Keyframe spacing assumed until measured: what most cameras ship (2 s at 25 fps, GOP 50). */
export const ASSUMED_GOP_SEC = 2;

/** CPU ms per second of one camera in a mode (gop null: ASSUMED_GOP_SEC). */
export function modeCostMsPerSec(
  mode: 'pair' | 'single' | 'burst',
  intervalSec: number,
  gopSec: number | null,
  c: ModeCosts = MEASURED_COSTS,
): number {
  switch (mode) {
    case 'pair':
      return c.pair.holdMsPerSec + c.pair.perSampleMs / intervalSec;
    case 'single':
      return (
        c.single.holdMsPerSec + c.single.perKeyframeMs / Math.min(intervalSec, gopSec ?? ASSUMED_GOP_SEC)
      );
    case 'burst':
      return c.burst.perSampleMs / intervalSec;
  }
}

export interface ChoiceInput {
  cam: Pick<LoadedCamera, 'mode' | 'source' | 'samplingIntervalSec'>;
  /** Keyframe spacing measured on this camera (s), null until known. */
  gopSec: number | null;
  /** The keyframes were measured further apart than the interval: every frame is decoded. */
  fullDecode: boolean;
  /** Operator override of the persistent pipeline (ingest.persistentPipeline). */
  pipeline: 'auto' | 'pair' | 'single';
  costs?: ModeCosts;
}

const ms = (v: number) => `${v.toFixed(1)} ms/s`;

/**
 * The cheapest mode for a camera's interval and GOP, with the reason. A configured `mode` is
 * honoured; the source kind rules out what cannot work (a snapshot URL has no stream, a file
 * plays in one process); otherwise the CPU model above decides. Memory breaks ties in favour of
 * fewer processes (a held process costs its private copy of ffmpeg's libraries, bench/RESULTS.md).
 */
export function chooseMode(i: ChoiceInput): ModeChoice {
  const { cam } = i;
  const I = cam.samplingIntervalSec;
  const costs = i.costs ?? MEASURED_COSTS;
  if (cam.source.kind === 'snapshot')
    return { mode: 'snapshot', reason: 'the source is an HTTP snapshot URL' };
  if (cam.mode === 'snapshot') return { mode: 'snapshot', reason: 'mode snapshot is configured' };
  if (cam.mode === 'burst') return { mode: 'burst', reason: 'mode burst is configured' };
  if (i.fullDecode)
    return {
      mode: 'full',
      reason: `keyframes measured ${i.gopSec === null ? 'too far' : `${i.gopSec.toFixed(1)} s`} apart, more than the ${I} s interval: every frame is decoded`,
    };
  if (cam.source.kind === 'file') return { mode: 'single', reason: 'a file is read by one process' };
  const pair = modeCostMsPerSec('pair', I, i.gopSec, costs);
  const single = modeCostMsPerSec('single', I, i.gopSec, costs);
  const burst = modeCostMsPerSec('burst', I, i.gopSec, costs);
  if (cam.mode !== 'persistent' && burst < Math.min(pair, single))
    return {
      mode: 'burst',
      reason: `interval ${I} s: a connection per sample (${ms(burst)}) costs less than a held stream (${ms(Math.min(pair, single))})`,
    };
  if (i.pipeline !== 'auto')
    return { mode: i.pipeline, reason: `ingest.persistentPipeline is ${i.pipeline}` };
  const gop =
    i.gopSec === null ? `GOP not measured (${ASSUMED_GOP_SEC} s assumed)` : `GOP ${i.gopSec.toFixed(1)} s`;
  // Ties (within 5 %) go to the single process: it holds half the memory.
  if (single <= pair * 1.05)
    return {
      mode: 'single',
      reason: `interval ${I} s, ${gop}: one process decoding every keyframe (${ms(single)}) costs no more than a reader + decoder pair (${ms(pair)})`,
    };
  return {
    mode: 'pair',
    reason: `interval ${I} s, ${gop}: packet selection decodes one keyframe per sample (${ms(pair)} against ${ms(single)} decoding every keyframe)`,
  };
}
