import { z } from 'zod';

/** `detectors:` section of gateway.yaml. Owned by the detectors component. */
export const DetectorsConfigSchema = z
  .strictObject({
    pluginDirs: z.array(z.string()).default([]).describe('Extra plugin directories, relative to gateway.yaml'),
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto').describe('Inference worker threads; auto = one per core'),
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto').describe('TF.js backend; auto = tfjs-node when installed, else wasm'),
    pluginTimeoutMs: z.number().int().positive().default(2_000).describe('A plugin call slower than this disables the plugin'),
    motion: z
      .strictObject({
        recheckSec: z.number().positive().default(30).describe('Run the model at least this often even without motion, so stopped objects stay tracked'),
      })
      .default({ recheckSec: 30 })
      .describe('Motion gate'),
  })
  .describe('Detectors: plugins, model workers, motion gate');
export type DetectorsConfig = z.infer<typeof DetectorsConfigSchema>;
