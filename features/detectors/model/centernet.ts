import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DetectedObject } from '../plugin-api/contract.js';
import { COCO_LABELS } from './coco-labels.js';
import { classFamily } from '../tracker/tracker.js';

export const MODEL_SIZE = 512;
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendResult {
  backend: string;
  /** Why the preferred backends were not used (empty when the first choice worked). */
  fallbacks: string[];
}

const require = createRequire(import.meta.url);

/**
 * Picks the fastest backend that works here. tfjs-node is optional and usually absent
 * (it downloads libtensorflow at install), so it is imported dynamically and its absence is a
 * reported fallback, not an error.
 */
export async function initBackend(choice: BackendChoice): Promise<BackendResult> {
  const fallbacks: string[] = [];
  const order: Array<'tensorflow' | 'wasm' | 'cpu'> =
    choice === 'auto'
      ? ['tensorflow', 'wasm', 'cpu']
      : choice === 'tensorflow'
        ? ['tensorflow', 'wasm', 'cpu']
        : choice === 'wasm'
          ? ['wasm', 'cpu']
          : ['cpu'];
  for (const b of order) {
    try {
      if (b === 'tensorflow') {
        // A variable specifier keeps TypeScript from requiring the optional package's types.
        const name = '@tensorflow/tfjs-node';
        await import(name);
      } else if (b === 'wasm') {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        // In Node the wasm files must come from disk: the default would be fetched relative to a URL.
        const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        wasm.setWasmPaths(`${dist}/`);
      }
      const ok = await tf.setBackend(b);
      if (!ok) throw new Error(`tf.setBackend('${b}') returned false`);
      await tf.ready();
      return { backend: tf.getBackend(), fallbacks };
    } catch (err) {
      fallbacks.push(`${b}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  throw new Error(`no TF.js backend works: ${fallbacks.join('; ')}`);
}

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  modelTopology: unknown;
  signature?: unknown;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** Default model file shipped with @vladmandic/human. */
export function defaultModelPath(): string {
  // The package's "exports" map hides models/, so go through its main entry's folder.
  const main = require.resolve('@vladmandic/human');
  return join(dirname(main), '..', 'models', 'centernet.json');
}

/** Loads the graph model from local files through an IO handler: no fetch, no network. */
export async function loadCenterNet(modelPath = defaultModelPath()): Promise<tf.GraphModel> {
  const dir = dirname(modelPath);
  const handler: tf.io.IOHandler = {
    async load() {
      const json = JSON.parse(await readFile(modelPath, 'utf8')) as ModelJson;
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(await readFile(join(dir, p)));
      }
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: specs,
        weightData,
        ...(json.format === undefined ? {} : { format: json.format }),
        ...(json.generatedBy === undefined ? {} : { generatedBy: json.generatedBy }),
        ...(json.convertedBy === undefined ? {} : { convertedBy: json.convertedBy }),
        ...(json.signature === undefined ? {} : { signature: json.signature as object }),
      };
    },
  };
  return tf.loadGraphModel(handler);
}

function iou(a: number[], b: number[]): number {
  const ix = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = ix * iy;
  const u = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return u <= 0 ? 0 : inter / u;
}

export interface DecodeOptions {
  minScore: number;
  iouThreshold: number;
}

/**
 * Greedy NMS over CenterNet's 100 rows, per class family (the tracker's: car/truck/bus/
 * motorcycle are one family). Not class-agnostic: a person standing in front of a parked van
 * overlaps it heavily, and class-agnostic NMS (human's choice) would drop one of the two. Not
 * per class either: on vtest.avi the van comes out as both 'truck' and 'car' at one place,
 * which made two tracks and two parking events for one vehicle.
 */
export function decodeDetections(rows: number[][], size: number, opts: DecodeOptions): DetectedObject[] {
  const cand = rows.filter((r) => (r[4] ?? 0) >= opts.minScore).sort((a, b) => b[4]! - a[4]!);
  const kept: Array<{ r: number[]; fam: string }> = [];
  for (const r of cand) {
    const fam = classFamily(COCO_LABELS[Math.round(r[5]!)] ?? '');
    if (kept.some((k) => k.fam === fam && iou(k.r, r) > opts.iouThreshold)) continue;
    kept.push({ r, fam });
  }
  const clamp = (v: number) => Math.min(1, Math.max(0, v / size));
  return kept.map(({ r }) => ({
    label: COCO_LABELS[Math.round(r[5]!)] ?? `class_${Math.round(r[5]!)}`,
    score: Math.round(r[4]! * 1000) / 1000,
    box: { x1: clamp(r[0]!), y1: clamp(r[1]!), x2: clamp(r[2]!), y2: clamp(r[3]!) },
  }));
}

/** One inference. `rgb` is width×height×3; resized (no letterbox, like human) to 512². */
export async function runCenterNet(
  model: tf.GraphModel,
  rgb: Uint8Array,
  width: number,
  height: number,
  opts: DecodeOptions,
): Promise<DetectedObject[]> {
  const out = tf.tidy(() => {
    let img = tf.tensor3d(rgb, [height, width, 3], 'int32').toFloat();
    if (width !== MODEL_SIZE || height !== MODEL_SIZE)
      img = tf.image.resizeBilinear(img, [MODEL_SIZE, MODEL_SIZE]);
    return model.execute(img.expandDims(0), 'tower_0/detections') as tf.Tensor;
  });
  try {
    const rows = ((await out.array()) as number[][][])[0] ?? [];
    return decodeDetections(rows, MODEL_SIZE, opts);
  } finally {
    out.dispose();
  }
}
