import { z } from 'zod';
import { TrackerOptionsSchema } from '../tracker/tracker.js';

const MotionSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Skip the model on frames without motion in the active zones'),
    recheckSec: z
      .number()
      .positive()
      .default(30)
      .describe('Run the model at least this often even without motion, so stopped objects stay tracked'),
    pixelThreshold: z
      .number()
      .int()
      .min(1)
      .max(255)
      .default(24)
      .describe(
        'Gray-level change (0-255) of an 80×60 cell, against the frame the model last saw, that counts as motion',
      ),
    minChangedCells: z
      .number()
      .int()
      .min(1)
      .max(4_800)
      .default(2)
      .describe('Changed cells inside the active zones needed to run the model (at least)'),
    minChangedShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.03)
      .describe(
        '…and this share of the zones’ cells, capped at 20 cells (a large zone needs a larger change)',
      ),
  })
  .describe('Motion gate');

/** Name rule of a model plugin (the manifest's name). */
export const ModelPluginNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/)
  .describe('Model plugin name (its manifest "name"), e.g. ssd-mobilenet-v2 or centernet');

/**
 * The only place model defaults live: the pool, the workers and the plugins get these values
 * and have no fallbacks of their own.
 */
export const ModelSchema = z
  .strictObject({
    plugin: ModelPluginNameSchema.default('ssd-mobilenet-v2').describe(
      "Model plugin for cameras that do not name one (a camera's `model:` overrides it). ssd-mobilenet-v2 won the side-by-side on the shared footage (docs/decisions.md); centernet is the other built-in",
    ),
    minScore: z
      .number()
      .min(0)
      .max(1)
      .default(0.2)
      .describe('Detections below this score are dropped before tracking'),
    nmsIou: z
      .number()
      .min(0.05)
      .max(1)
      .default(0.4)
      .describe('Non-maximum suppression IoU, per class family (vehicles are one family)'),
    maxBoxArea: z
      .number()
      .gt(0)
      .max(1)
      .default(0.5)
      .describe(
        'Heuristic: detections whose box covers more than this share of the frame are dropped. SSD fires its largest anchors on whole scenes (a "car" over 94% of highway-traffic.avi, a "sink" over the parking lot); in 136 frames of the four shared clips all 18 boxes above 0.5 were such, and no real object covered more than 0.2. A person at the lens is lost with it',
      ),
    dir: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Folder of fetched model files (<dir>/<plugin>/model.json), relative to gateway.yaml; default var/models in the project (where bash scripts/fetch-models.sh puts them)',
      ),
  })
  .describe('Object models: model plugins (COCO labels), run in the inference worker threads');

/** `detectors:` section of gateway.yaml. Owned by the detectors component. */
export const DetectorsConfigSchema = z
  .strictObject({
    pluginDirs: z
      .array(z.string())
      .default([])
      .describe('Extra plugin directories, relative to gateway.yaml'),
    workers: z
      .union([z.literal('auto'), z.number().int().min(1).max(64)])
      .default('auto')
      .describe('Inference worker threads; auto = one per core'),
    backend: z
      .enum(['auto', 'tensorflow', 'wasm', 'cpu'])
      .default('auto')
      .describe('TF.js backend; auto = tfjs-node when installed, else wasm'),
    pluginTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(2_000)
      .describe('A plugin call slower than this disables the plugin'),
    pluginLoadTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(20_000)
      .describe('A plugin whose module takes longer than this to import (in its own thread) is disabled'),
    motion: MotionSchema.default(MotionSchema.parse({})),
    model: ModelSchema.default(ModelSchema.parse({})),
    tracker: TrackerOptionsSchema.partial()
      .default({})
      .describe('Tracker tuning for every camera (defaults suit street cameras sampled every few seconds)'),
    refreshSec: z
      .number()
      .positive()
      .default(60)
      .describe(
        'While an event persists, re-submit it (new finding id, same key) at most this often so the open alert gets a fresh last-seen and evidence',
      ),
  })
  .describe('Detectors: plugins, model workers, motion gate');
export type DetectorsConfig = z.infer<typeof DetectorsConfigSchema>;
