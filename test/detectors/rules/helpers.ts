import { pino } from 'pino';
import { createTracker, type TrackerOptions } from '../../../features/detectors/tracker/tracker.js';
import type {
  DetectedObject,
  DetectorPlugin,
  NBox,
  Rule,
  RuleEmission,
  RuleInput,
  ZoneView,
} from '../../../features/detectors/plugin-api/contract.js';

export const T0 = Date.UTC(2026, 10, 27, 2, 0, 0);
export const STEP = 5_000;

export function makeRule<O>(plugin: DetectorPlugin<O>, options: unknown = {}): Rule {
  if (!plugin.optionsSchema || !plugin.createRule) throw new Error('not a rule plugin');
  return plugin.createRule({
    cameraId: 'cam-test',
    options: plugin.optionsSchema.parse(options),
    logger: pino({ level: 'silent' }),
  });
}

export function det(label: string, box: NBox, score = 0.5): DetectedObject {
  return { label, score, box };
}

export function rect(id: string, x1: number, y1: number, x2: number, y2: number, name = id): ZoneView {
  return {
    id,
    name,
    polygon: [
      [x1, y1],
      [x2, y1],
      [x2, y2],
      [x1, y2],
    ],
  };
}

export interface Sample {
  objects: DetectedObject[];
  /** Defaults: true. */
  inferred?: boolean;
  active?: boolean;
  rgb?: Uint8Array;
}

export interface FeedOpts {
  zones: ZoneView[];
  dwellFactor?: Record<string, number>;
  tracker?: TrackerOptions;
  width?: number;
  height?: number;
  step?: number;
}

/** Detections → real tracker → rule, one sample every `step` ms; returns each sample's emissions. */
export async function feed(rule: Rule, samples: Sample[], o: FeedOpts): Promise<RuleEmission[][]> {
  const tracker = createTracker(o.tracker);
  const out: RuleEmission[][] = [];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const at = T0 + i * (o.step ?? STEP);
    const inferred = s.inferred ?? true;
    const tracks = inferred ? tracker.update(s.objects, at) : tracker.carry(at);
    const input: RuleInput = {
      frame: {
        cameraId: 'cam-test',
        at,
        width: o.width ?? 64,
        height: o.height ?? 48,
        ...(s.rgb ? { rgb: s.rgb } : {}),
      },
      tracks,
      zones: o.zones,
      active: s.active ?? true,
      inferred,
      dwellFactor: o.dwellFactor ?? {},
    };
    out.push(await rule.evaluate(input));
  }
  return out;
}

export function repeat(
  n: number,
  objects: DetectedObject[] | ((i: number) => DetectedObject[]),
  extra: Omit<Sample, 'objects'> = {},
): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    objects: typeof objects === 'function' ? objects(i) : objects,
    ...extra,
  }));
}

/** Index of the first sample with an emission, or -1. */
export function firstHit(out: RuleEmission[][]): number {
  return out.findIndex((e) => e.length > 0);
}

export function keys(out: RuleEmission[][]): string[] {
  return [...new Set(out.flat().map((e) => e.key))];
}
