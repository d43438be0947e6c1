/**
 * The detector plugin contract. Everything a plugin author needs is in this file.
 *
 * Two layers (Frigate-like split): a FrameModel turns one frame into objects, once per
 * frame, shared by all rules of the camera; the pipeline tracks those objects across samples;
 * a Rule turns tracked objects + zones + schedule into findings and keeps per-camera state.
 * A plugin may bring a rule, a model, or both.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type * as TF from '@tensorflow/tfjs';

export const CONTRACT_VERSION = 1;

export const FindingTypeDeclSchema = z
  .strictObject({
    type: z
      .string()
      .regex(/^[a-z][a-z0-9_]{1,63}$/)
      .describe('Finding type id, e.g. illegal_parking'),
    zh: z.string().min(1).describe('zh-CN label, e.g. 违章停车'),
    en: z.string().min(1).describe('English label'),
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/)
      .optional()
      .describe('Card colour on the wall'),
    icon: z.string().max(8).optional().describe('Emoji or short icon text for the wall'),
  })
  .describe('A finding type the plugin raises');

export const PluginManifestSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/)
      .describe('Plugin name, unique'),
    version: z
      .string()
      .regex(/^\d+\.\d+\.\d+/)
      .describe('Semver of the plugin'),
    contractVersion: z
      .literal(CONTRACT_VERSION)
      .describe('Version of detectors/contract.ts the plugin was written for'),
    kind: z.enum(['rule', 'model', 'both']).describe('What the plugin brings'),
    findingTypes: z.array(FindingTypeDeclSchema).default([]).describe('Types raised (rules)'),
    consumes: z
      .array(z.string())
      .default([])
      .describe(
        'Model outputs a rule reads: COCO labels such as "car", or "pixels" for rules that look at the frame',
      ),
    entry: z
      .string()
      .default('index.js')
      .describe('Module, relative to the plugin folder, exporting the plugin'),
    license: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'SPDX licence of the plugin and of the weights it loads (model plugins must name it), e.g. Apache-2.0',
      ),
  })
  .describe('gridwatch-plugin.json, or the "gridwatch" key of a package.json');
export type PluginManifest = z.infer<typeof PluginManifestSchema>;

/** Box in normalised image coordinates (0..1). */
export interface NBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface DetectedObject {
  /** COCO label ('person', 'car', …) or the model's own. */
  label: string;
  score: number;
  box: NBox;
}

export interface TrackedObject extends DetectedObject {
  trackId: string;
  /** ms since epoch (video clock in offline analysis). */
  firstSeen: number;
  lastSeen: number;
  /** Since when the box has moved less than the tracker's tolerance; null while moving. */
  stationarySince: number | null;
  /** Samples in a row the object was not matched (0 = seen in this frame). */
  missed: number;
  /** Samples the object was matched in. */
  hits: number;
}

export interface ZoneView {
  id: string;
  name: string;
  polygon: Array<[number, number]>;
  gridCode?: string;
}

export interface FrameView {
  cameraId: string;
  /** ms since epoch (video clock in offline analysis). */
  at: number;
  width: number;
  height: number;
  /** RGB24 pixels, only for plugins that list "pixels" in consumes. */
  rgb?: Uint8Array;
}

export interface RuleInput {
  frame: FrameView;
  /** Live tracks of the camera (including ones missed for a few samples). */
  tracks: readonly TrackedObject[];
  /** Zones of this camera that list this rule. */
  zones: readonly ZoneView[];
  /** Whether the rule's schedule window is active now. A rule should hold no timers while inactive. */
  active: boolean;
  /** False when the motion gate skipped the model for this frame (tracks are then carried over). */
  inferred: boolean;
  /**
   * Operator feedback (dispatcher): per zone id, multiply your dwell time by this factor.
   * Absent zone = 1. Rules with a dwell must honour it.
   */
  dwellFactor: Readonly<Record<string, number>>;
}

/** What a rule reports; the pipeline turns it into a Finding with evidence. */
export interface RuleEmission {
  /** Finding type (one of the manifest's). */
  type: string;
  /** Stable key of the event (e.g. the parked vehicle's track id): same key = same event. */
  key: string;
  zoneId: string | null;
  score: number;
  trackIds: string[];
  boxes: Array<NBox & { label: string; score: number; trackId?: string }>;
  firstSeen: number;
  lastSeen: number;
  placeKey?: string;
  details?: Record<string, unknown>;
}

export interface RuleContext<O> {
  cameraId: string;
  options: O;
  logger: Logger;
}

export interface Rule {
  evaluate(input: RuleInput): RuleEmission[] | Promise<RuleEmission[]>;
  close?(): void | Promise<void>;
}

/** One frame as the pipeline samples it (today 512×512 RGB24, not letterboxed). */
export interface ModelFrame {
  /** RGB24, width × height × 3 bytes. */
  rgb: Uint8Array;
  width: number;
  height: number;
}

/**
 * A frame model (manifest kind "model" or "both"). It runs inside an inference worker thread,
 * one instance per worker, never on the main thread. detect() returns every object at or above
 * ctx.minScore, after the model's own non-maximum suppression, with boxes normalised to the
 * frame (0..1, x1 < x2, y1 < y2) and COCO labels ('person', 'car', 'truck', …).
 */
export interface FrameModel {
  detect(frame: ModelFrame): Promise<DetectedObject[]>;
  close(): Promise<void>;
}

/** What createModel gets (in the inference worker). */
export interface ModelContext {
  logger: Logger;
  /** The worker's TF.js, backend already chosen (tfjs-node when installed, else wasm). */
  tf: typeof TF;
  /**
   * Loads a TF.js graph model (model.json + weight shards) from local files: no fetch, no
   * network. A missing or unreadable file throws GW_MODEL_LOAD naming the setup command.
   */
  loadGraphModel(modelJsonPath: string): Promise<TF.GraphModel>;
  /** Folder of model files fetched by setup (scripts/fetch-models.sh): <modelsDir>/<your name>/. */
  modelsDir: string;
  /** The plugin's own folder. */
  pluginDir: string;
  /** detectors.model.minScore: drop detections below it. */
  minScore: number;
  /** detectors.model.nmsIou: IoU above which the weaker of two same-family boxes is dropped. */
  nmsIou: number;
}

/** What a plugin module's default export is. */
export interface DetectorPlugin<O = unknown> {
  /** Options schema (zod), strict and described; defaults fill what a camera leaves out. */
  optionsSchema?: z.ZodType<O>;
  createRule?(ctx: RuleContext<O>): Rule;
  /** Frame model (kind "model" or "both"); called once per inference worker. */
  createModel?(ctx: ModelContext): Promise<FrameModel>;
}

/** Identity helper that gives plugin authors type checking. */
export function definePlugin<O>(plugin: DetectorPlugin<O>): DetectorPlugin<O> {
  return plugin;
}
