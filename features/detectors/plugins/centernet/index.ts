import { definePlugin } from '../../plugin-api/contract.js';
import { defaultCenterNetPath, runCenterNet } from '../../model/centernet.js';

/**
 * CenterNet-MobileNetV3 COCO-80 at 512², the model file shipped with @vladmandic/human (an npm
 * dependency, MIT): nothing to fetch. Kept as the alternative to SSD-MobileNetV2 (see
 * docs/decisions.md for why it is no longer the default).
 */
export default definePlugin({
  async createModel(ctx) {
    const model = await ctx.loadGraphModel(defaultCenterNetPath());
    const opts = { minScore: ctx.minScore, iouThreshold: ctx.nmsIou };
    return {
      detect: (frame) => runCenterNet(ctx.tf, model, frame, opts),
      close: () => Promise.resolve(model.dispose()),
    };
  },
});
