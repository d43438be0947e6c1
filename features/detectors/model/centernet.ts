import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { DetectedObject, ModelFrame } from '../plugin-api/contract.js';
import { COCO_LABELS } from './coco-labels.js';
import { familyNms } from './family-nms.js';

/**
 * CenterNet-MobileNetV3 (COCO-80) from @vladmandic/human: fixed input [1,512,512,3] float32
 * RGB 0-255; `tower_0/detections` gives [1,100,6] = x1, y1, x2, y2 (input pixels), score,
 * class (0-based COCO-80).
 */
export const CENTERNET_SIZE = 512;
/**
 * Side of the square RGB frame the pipeline samples (ingest and analyze resize to it, no
 * letterbox). It was CenterNet's fixed input; SSD takes any size and is given the same frame.
 */
export const MODEL_SIZE = CENTERNET_SIZE;

const require = createRequire(import.meta.url);

/** Model file shipped with @vladmandic/human (an npm dependency: no fetch step needed). */
export function defaultCenterNetPath(): string {
  // The package's "exports" map hides models/, so go through its main entry's folder.
  const main = require.resolve('@vladmandic/human');
  return join(dirname(main), '..', 'models', 'centernet.json');
}

export interface DecodeOptions {
  minScore: number;
  iouThreshold: number;
}

/** CenterNet rows (input pixels, 0-based COCO-80 class) → normalised detections after family NMS. */
export function decodeCenterNet(rows: number[][], size: number, opts: DecodeOptions): DetectedObject[] {
  return familyNms(
    rows.map((r) => {
      const cls = Math.round(r[5]!);
      return {
        label: COCO_LABELS[cls] ?? `class_${cls}`,
        score: r[4] ?? 0,
        box: { x1: r[0]! / size, y1: r[1]! / size, x2: r[2]! / size, y2: r[3]! / size },
      };
    }),
    opts.minScore,
    opts.iouThreshold,
  );
}

/** One inference; the frame is resized (no letterbox, like human) to 512². */
export async function runCenterNet(
  tf: typeof TF,
  model: TF.GraphModel,
  frame: ModelFrame,
  opts: DecodeOptions,
): Promise<DetectedObject[]> {
  const { rgb, width, height } = frame;
  const out = tf.tidy(() => {
    let img = tf.tensor3d(rgb, [height, width, 3], 'int32').toFloat();
    if (width !== CENTERNET_SIZE || height !== CENTERNET_SIZE)
      img = tf.image.resizeBilinear(img, [CENTERNET_SIZE, CENTERNET_SIZE]);
    return model.execute(img.expandDims(0), 'tower_0/detections') as TF.Tensor;
  });
  try {
    const rows = ((await out.array()) as number[][][])[0] ?? [];
    return decodeCenterNet(rows, CENTERNET_SIZE, opts);
  } finally {
    out.dispose();
  }
}
