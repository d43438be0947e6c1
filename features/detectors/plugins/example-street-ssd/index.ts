import { definePlugin } from '../../plugin-api/contract.js';
import ssd from '../ssd-mobilenet-v2/index.js';

/** The COCO labels a street camera's rules read; everything else is noise there. */
export const STREET_LABELS: ReadonlySet<string> = new Set([
  'person',
  'bicycle',
  'car',
  'motorcycle',
  'bus',
  'truck',
]);

/**
 * Example model plugin (docs/detectors.md, "Model plugins"): SSD-MobileNetV2 with everything
 * but street objects dropped, e.g. the 'cow' SSD sees in a stone on vtest.avi's lawn. Pick it
 * for a camera with `model: example-street-ssd`. It runs in the inference workers like any
 * model plugin: createModel once per worker, detect once per inferred frame.
 */
export default definePlugin({
  async createModel(ctx) {
    const inner = await ssd.createModel!(ctx);
    ctx.logger.info('example-street-ssd ready');
    return {
      async detect(frame) {
        return (await inner.detect(frame)).filter((o) => STREET_LABELS.has(o.label));
      },
      close: () => inner.close(),
    };
  },
});
