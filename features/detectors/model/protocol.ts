import type { DetectedObject } from '../plugin-api/contract.js';
import type { BackendChoice } from './tf-backend.js';
import type { ModelPluginRef } from '../loader/manifest-validation.js';

export type { ModelPluginRef } from '../loader/manifest-validation.js';

/** Messages between the pool (main thread) and an inference worker. */
export interface InitMessage {
  type: 'init';
  backend: BackendChoice;
  plugins: ModelPluginRef[];
  /** Loaded at start (a worker is ready once it is); the others load on their first frame. */
  defaultModel: string;
  modelsDir: string;
  minScore: number;
  nmsIou: number;
  /** Detections covering more of the frame than this are dropped, whatever the model. */
  maxBoxArea: number;
  logLevel: string;
}

export interface MotionRequest {
  /** Gray image at the last inference; null = none yet (always infer). */
  ref: Uint8Array | null;
  mask: Uint8Array;
  pixelThreshold: number;
  /** Infer when at least this many masked cells changed. */
  minChangedCells: number;
  /** Infer whatever the motion (periodic re-check). */
  force: boolean;
}

export interface JobMessage {
  type: 'job';
  id: number;
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Model plugin name; the default model when absent. */
  model?: string;
  motion?: MotionRequest;
}

/** What a worker found in one frame; the pool hands it on unchanged (its InferenceResult). */
export interface FrameOutcome {
  inferred: boolean;
  objects: DetectedObject[];
  gray: Uint8Array | null;
  changed: number | null;
  area: number | null;
  inferMs: number;
}

export type WorkerReply =
  | { type: 'ready'; backend: string; fallbacks: string[]; loadMs: number; model: string }
  | { type: 'fatal'; message: string; code: string | null }
  | ({ type: 'result'; id: number; model: string } & FrameOutcome)
  | { type: 'error'; id: number; message: string; code: string | null }
  | { type: 'log'; line: string };
