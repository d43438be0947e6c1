/**
 * fire_smoke (烟火) — A HEURISTIC, not a trained fire model (none is available offline here).
 * It looks at a coarse cell grid of each sample:
 *
 * - Fire: cells where many pixels are bright red-orange-yellow (Chen et al. 2004 colour rules)
 *   form a blob that stays in place for minSamples samples AND flickers: the fire-coloured
 *   share of its cells changes between samples. A traffic cone, a red car or orange clothes
 *   have the colour but not the flicker (parked) or not the place (moving).
 * - Smoke: low-saturation grey cells that differ from the learnt background and have lost
 *   texture against it (smoke blurs what is behind it), forming a blob that stays for
 *   minSamples samples and grows. Cells under people and vehicles are ignored (grey cars,
 *   grey coats).
 *
 * With no zone listing fire_smoke the whole frame is watched (zoneId null). The false-positive
 * rate measured on the project's footage (none of it shows fire) is in docs/detectors.md; treat
 * a finding as "look at this camera", and keep operators confirming before dispatch.
 */
import { z } from 'zod';
import { definePlugin, type NBox, type RuleEmission } from '../../plugin-api/contract.js';
import { createDwellBook } from '../../rules-lib/dwell.js';
import { filterZones, pointInPolygon } from '../../rules-lib/geometry.js';
import { round } from '../../rules-lib/boxes.js';
import { zonesOption } from '../../rules-lib/options.js';
import { boxCellMask, cellGrid, components, localGain, type CellGrid } from '../../rules-lib/pixels.js';
import { iou } from '../../tracker/tracker.js';

export const FireSmokeOptionsSchema = z
  .strictObject({
    zones: zonesOption,
    gridWidth: z.number().int().min(8).max(256).default(64).describe('Cells across the downscaled view'),
    gridHeight: z.number().int().min(6).max(256).default(48).describe('Cells down'),
    minSamples: z
      .number()
      .int()
      .min(2)
      .max(100)
      .default(3)
      .describe('Samples in a row a fire or smoke blob must persist in place'),
    fire: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Look for flames'),
        cellShare: z
          .number()
          .min(0.01)
          .max(1)
          .default(0.25)
          .describe('Share of fire-coloured pixels that makes a cell a fire cell'),
        minCells: z.number().int().min(1).max(10_000).default(2).describe('Fire cells a blob needs'),
        minFlicker: z
          .number()
          .min(0)
          .max(1)
          .default(0.08)
          .describe('Mean change of the fire-coloured share per cell between samples'),
        maxFrameShare: z
          .number()
          .min(0.001)
          .max(1)
          .default(0.1)
          .describe(
            'A fire-coloured blob larger than this share of the frame is scenery (floor, wall, sunset)',
          ),
      })
      .default({ enabled: true, cellShare: 0.25, minCells: 2, minFlicker: 0.08, maxFrameShare: 0.1 })
      .describe('Flame part'),
    smoke: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Look for smoke'),
        maxSaturation: z
          .number()
          .min(0)
          .max(1)
          .default(0.15)
          .describe('Greyness: max (max−min)/max of a cell colour'),
        minLumaDelta: z
          .number()
          .min(0)
          .max(255)
          .default(12)
          .describe('Luminance change against the background'),
        maxTextureRatio: z
          .number()
          .min(0)
          .max(1)
          .default(0.6)
          .describe('Texture against the background at most this (blur)'),
        minCells: z.number().int().min(1).max(10_000).default(8).describe('Smoke cells a blob needs'),
        minGrowth: z
          .number()
          .min(0)
          .max(100)
          .default(1.2)
          .describe('Largest area over the run / first area (smoke spreads); 0 disables'),
        globalChangeShare: z
          .number()
          .min(0.05)
          .max(1)
          .default(0.3)
          .describe('A smoke-like share of the frame above this is lighting or weather: re-learn'),
      })
      .default({
        enabled: true,
        maxSaturation: 0.15,
        minLumaDelta: 12,
        maxTextureRatio: 0.6,
        minCells: 8,
        minGrowth: 1.2,
        globalChangeShare: 0.3,
      })
      .describe('Smoke part'),
  })
  .describe('fire_smoke options');
export type FireSmokeOptions = z.infer<typeof FireSmokeOptionsSchema>;

interface Run {
  id: string;
  kind: 'fire' | 'smoke';
  start: number;
  /** Where the run began: fire and smoke stay rooted there, a red car driving by does not. */
  origin: NBox;
  box: NBox;
  samples: number;
  missed: number;
  flickerSum: number;
  firstArea: number;
  maxArea: number;
}

export interface FireSmokeHit {
  kind: 'fire' | 'smoke';
  id: string;
  start: number;
  box: NBox;
  samples: number;
  flicker: number;
  growth: number;
}

export interface FireSmokeDetector {
  /** One sample; `exclude` masks cells under people (fire) and `excludeMovers` people+vehicles (smoke). */
  step(grid: CellGrid, at: number, excludePeople: Uint8Array, excludeMovers: Uint8Array): FireSmokeHit[];
  clear(): void;
}

function grow(b: NBox, f: number): NBox {
  const dx = (b.x2 - b.x1) * f;
  const dy = (b.y2 - b.y1) * f;
  return { x1: b.x1 - dx, y1: b.y1 - dy, x2: b.x2 + dx, y2: b.y2 + dy };
}

function rooted(origin: NBox, b: NBox, reach: number): boolean {
  const size = Math.max(origin.x2 - origin.x1, origin.y2 - origin.y1);
  const dx = (b.x1 + b.x2 - origin.x1 - origin.x2) / 2;
  // Flames and smoke rise and spread upwards; their bottom edge stays put.
  const dy = b.y2 - origin.y2;
  return Math.hypot(dx, dy) <= reach * size + 1e-9;
}

/** The pixel logic alone, exported so the false-positive measurement runs exactly this code. */
export function createFireSmokeDetector(o: FireSmokeOptions): FireSmokeDetector {
  const n = o.gridWidth * o.gridHeight;
  let prevFire: Float32Array | null = null;
  let prevExclude: Uint8Array | null = null;
  let bgLuma: Float32Array | null = null;
  let bgTex: Float32Array | null = null;
  /** Samples a cell has looked like its background in a row; see road_obstruction's bgAge. */
  const bgAge = new Uint16Array(n);
  let runs: Run[] = [];

  function track(
    kind: 'fire' | 'smoke',
    comps: ReturnType<typeof components>,
    at: number,
    flicker: (cells: number[]) => number,
  ) {
    const mine = runs.filter((r) => r.kind === kind);
    const used = new Set<Run>();
    for (const c of comps) {
      const run = mine.find(
        // Smoke's base moves less than a walker's: a light-coated pedestrian, unmasked when the
        // model missed them, looks like a small grey blob that wanders.
        (r) =>
          !used.has(r) &&
          iou(grow(r.box, 0.5), c.box) > 0 &&
          rooted(r.origin, c.box, kind === 'fire' ? 0.75 : 0.35),
      );
      if (run) {
        const f = flicker(c.cells);
        used.add(run);
        run.box = c.box;
        run.samples += 1;
        run.missed = 0;
        run.flickerSum += f;
        run.maxArea = Math.max(run.maxArea, c.cells.length);
      } else {
        const r: Run = {
          id: `${kind}:${at}:${c.cells[0]}`,
          kind,
          start: at,
          origin: c.box,
          box: c.box,
          samples: 1,
          missed: 0,
          // Appearing is not flickering: a red car pulling up would otherwise count as one.
          flickerSum: 0,
          firstArea: c.cells.length,
          maxArea: c.cells.length,
        };
        runs.push(r);
        used.add(r);
      }
    }
    // One missed sample is forgiven: flames dip, smoke thins.
    runs = runs.filter((r) => r.kind !== kind || used.has(r) || ++r.missed <= 1);
  }

  return {
    step(grid, at, excludePeople, excludeMovers) {
      if (o.fire.enabled) {
        const mask = new Uint8Array(n);
        for (let c = 0; c < n; c++) if (!excludePeople[c] && grid.fire[c]! >= o.fire.cellShare) mask[c] = 1;
        const prev = prevFire;
        const prevEx = prevExclude;
        const comps = components(mask, o.gridWidth, o.gridHeight, o.fire.minCells).filter(
          (c) => c.cells.length <= o.fire.maxFrameShare * n,
        );
        track('fire', comps, at, (cells) => {
          if (!prev || !prevEx) return 0;
          // Only cells visible in both samples: a person uncovering a warm-coloured floor
          // changes its share without any flame.
          let s = 0;
          let k = 0;
          for (const c of cells) {
            if (prevEx[c]) continue;
            s += Math.abs(grid.fire[c]! - prev[c]!);
            k++;
          }
          return k > 0 ? s / k : 0;
        });
        prevFire = Float32Array.from(grid.fire);
        prevExclude = Uint8Array.from(excludePeople);
      }
      if (o.smoke.enabled) {
        if (!bgLuma || !bgTex) {
          bgLuma = Float32Array.from(grid.luma);
          bgTex = Float32Array.from(grid.texture);
          bgAge.fill(0);
        } else {
          const mask = new Uint8Array(n);
          let visible = 0;
          let smoky = 0;
          // Exposure drift brightens whole regions (vtest.avi's road); smoke is local.
          const gains = localGain(grid.luma, bgLuma, o.gridWidth, o.gridHeight, 5);
          for (let c = 0; c < n; c++) {
            if (excludeMovers[c]) continue;
            visible++;
            const r = grid.rgb[c * 3]!;
            const g = grid.rgb[c * 3 + 1]!;
            const b = grid.rgb[c * 3 + 2]!;
            const mx = Math.max(r, g, b);
            const sat = mx > 0 ? (mx - Math.min(r, g, b)) / mx : 0;
            const l = grid.luma[c]!;
            const gain = gains[c]!;
            // Light smoke only: it brightens and greys what is behind it. A dark coat or a
            // shadow darkens, so requiring "brighter" drops most people the model missed.
            if (
              sat <= o.smoke.maxSaturation &&
              l >= 90 &&
              l - bgLuma[c]! * gain >= o.smoke.minLumaDelta &&
              bgTex[c]! * gain > 2 &&
              grid.texture[c]! <= bgTex[c]! * gain * o.smoke.maxTextureRatio
            ) {
              if (bgAge[c]! < 2) {
                // The background here was seen once only (a dark-coated passer-by in the first
                // frame, vtest.avi): the road behind them is not smoke. Adopt it.
                bgLuma[c] = grid.luma[c]!;
                bgTex[c] = grid.texture[c]!;
                bgAge[c] = 0;
                continue;
              }
              mask[c] = 1;
              smoky++;
            }
          }
          if (visible > 0 && smoky / visible > o.smoke.globalChangeShare) {
            bgLuma = Float32Array.from(grid.luma);
            bgTex = Float32Array.from(grid.texture);
            bgAge.fill(0);
            runs = runs.filter((r) => r.kind !== 'smoke');
          } else {
            track('smoke', components(mask, o.gridWidth, o.gridHeight, o.smoke.minCells), at, () => 0);
            for (let c = 0; c < n; c++) {
              if (mask[c] || excludeMovers[c]) continue;
              // Selective update: a cell far from its background (a passer-by the model
              // missed) is learnt 10× slower, or their dark coat would sink into the
              // background and the road behind them would then look "brighter and smoother".
              const far = Math.abs(grid.luma[c]! - bgLuma[c]! * gains[c]!) >= o.smoke.minLumaDelta;
              const rate = far ? 0.01 : 0.1;
              if (!far && bgAge[c]! < 65_535) bgAge[c] = bgAge[c]! + 1;
              bgLuma[c] = bgLuma[c]! + rate * (grid.luma[c]! - bgLuma[c]!);
              bgTex[c] = bgTex[c]! + rate * (grid.texture[c]! - bgTex[c]!);
            }
          }
        }
      }
      const hits: FireSmokeHit[] = [];
      for (const r of runs) {
        if (r.missed > 0 || r.samples < o.minSamples) continue;
        // The first sample of a run has no previous frame to flicker against: average the rest.
        const flicker = r.samples > 1 ? r.flickerSum / (r.samples - 1) : 0;
        const growth = r.maxArea / Math.max(1, r.firstArea);
        if (r.kind === 'fire' && flicker < o.fire.minFlicker) continue;
        if (r.kind === 'smoke' && o.smoke.minGrowth > 0 && growth < o.smoke.minGrowth) continue;
        hits.push({
          kind: r.kind,
          id: r.id,
          start: r.start,
          box: r.box,
          samples: r.samples,
          flicker,
          growth,
        });
      }
      return hits;
    },
    clear() {
      prevFire = null;
      prevExclude = null;
      bgLuma = null;
      bgTex = null;
      bgAge.fill(0);
      runs = [];
    },
  };
}

const VEHICLES = new Set(['car', 'truck', 'bus', 'motorcycle']);

export default definePlugin<FireSmokeOptions>({
  optionsSchema: FireSmokeOptionsSchema,
  createRule({ options, logger }) {
    const det = createFireSmokeDetector(options);
    const book = createDwellBook();
    let warned = false;
    return {
      evaluate(input) {
        if (!book.begin(input)) {
          det.clear();
          return [];
        }
        const grid = cellGrid(input.frame, options.gridWidth, options.gridHeight);
        if (!grid) {
          if (!warned) {
            warned = true;
            logger.warn({ cameraId: input.frame.cameraId }, 'fire_smoke: frame has no RGB buffer; rule idle');
          }
          return [];
        }
        const live = input.tracks.filter((t) => t.missed <= 1);
        const people = boxCellMask(
          live.filter((t) => t.label === 'person').map((t) => t.box),
          options.gridWidth,
          options.gridHeight,
          0.1,
        );
        const movers = boxCellMask(
          live.filter((t) => t.label === 'person' || VEHICLES.has(t.label)).map((t) => t.box),
          options.gridWidth,
          options.gridHeight,
          0.1,
        );
        const zones = filterZones(input.zones, options.zones);
        const out: RuleEmission[] = [];
        for (const h of det.step(grid, input.frame.at, people, movers)) {
          const cx = (h.box.x1 + h.box.x2) / 2;
          const cy = (h.box.y1 + h.box.y2) / 2;
          const zone = zones.find((z) => pointInPolygon(cx, cy, z.polygon)) ?? null;
          if (zones.length > 0 && !zone) continue;
          const key = `fire_smoke:${h.id}`;
          book.hold(key, h.start);
          out.push({
            type: 'fire_smoke',
            key,
            zoneId: zone?.id ?? null,
            score: 0.5,
            trackIds: [],
            boxes: [{ ...h.box, label: h.kind, score: 0.5 }],
            firstSeen: h.start,
            lastSeen: input.frame.at,
            placeKey: `fire:${Math.floor(cx * 10)}:${Math.floor(cy * 10)}`,
            details: {
              kind: h.kind,
              heuristic: true,
              samples: h.samples,
              flicker: round(h.flicker),
              growth: round(h.growth, 2),
              ...(zone ? { zoneName: zone.name } : {}),
            },
          });
        }
        book.end();
        return out;
      },
    };
  },
});
