import type { DetectedObject } from '../plugin-api/contract.js';
import type { BackendChoice } from './centernet.js';

/** Messages between the pool (main thread) and an inference worker. */
export interface InitMessage {
  type: 'init';
  backend: BackendChoice;
  modelPath?: string;
  minScore: number;
  iouThreshold: number;
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
  motion?: MotionRequest;
}

export type WorkerReply =
  | { type: 'ready'; backend: string; fallbacks: string[]; loadMs: number }
  | { type: 'fatal'; message: string }
  | {
      type: 'result';
      id: number;
      inferred: boolean;
      objects: DetectedObject[];
      gray: Uint8Array | null;
      changed: number | null;
      area: number | null;
      inferMs: number;
    }
  | { type: 'error'; id: number; message: string };
