import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EvidenceStore } from '../../core/contracts/evidence-store.js';
import type { FindingSink } from '../../core/contracts/finding.js';
import type { DetectorsConfig } from './config/detectors-config.js';
import { loadPlugins, type PluginSet } from './loader/plugin-loader.js';
import { createInferencePool, type InferencePool } from './model/inference-pool.js';
import {
  createDetectionPipeline,
  type DetectionPipeline,
  type PipelineEvent,
} from './pipeline/detection-pipeline.js';

export { DetectorsConfigSchema, type DetectorsConfig } from './config/detectors-config.js';
export { readPluginTypes } from './loader/plugin-discovery.js';
export { readModelPlugins } from './loader/manifest-validation.js';
export type { ModelPluginRef } from './loader/manifest-validation.js';
export { loadPlugins, type PluginSet, type PluginStatus, type RuleHandle } from './loader/plugin-loader.js';
export { createInferencePool, type InferencePool, type InferencePoolHealth } from './model/inference-pool.js';
export {
  createDetectionPipeline,
  matchRecheck,
  type DetectionPipeline,
  type PipelineEvent,
  type PipelineHealth,
} from './pipeline/detection-pipeline.js';
export { analyzeVideo, type AnalyzeResult, type AnalyzedEvent } from './pipeline/analyze-video.js';

export interface Detectors {
  pipeline: DetectionPipeline;
  plugins: PluginSet;
  pool: InferencePool;
  /** Closes the pipeline (waits for frames in progress), then the plugin threads, then the model workers. */
  close(): Promise<void>;
}

export interface CreateDetectorsOptions {
  config: DetectorsConfig;
  /** Folder of gateway.yaml: config.pluginDirs are relative to it. */
  baseDir: string;
  evidence: EvidenceStore;
  findingSink: FindingSink;
  timeZone: string;
  logger: Logger;
  metrics: Registry;
  onEvent?: (e: PipelineEvent) => void;
}

/** Everything the gateway needs from the detectors, wired in the order it must start. */
export async function createDetectors(o: CreateDetectorsOptions): Promise<Detectors> {
  const plugins = await loadPlugins({
    config: o.config,
    baseDir: o.baseDir,
    logger: o.logger,
    metrics: o.metrics,
  });
  const pool = createInferencePool({
    workers: o.config.workers,
    backend: o.config.backend,
    logger: o.logger,
    metrics: o.metrics,
    model: o.config.model,
    plugins: plugins.modelPlugins(),
    ...(o.config.model.dir ? { modelsDir: resolve(o.baseDir, o.config.model.dir) } : {}),
  });
  try {
    await pool.ready();
  } catch (err) {
    await pool.close();
    await plugins.close();
    throw err;
  }
  const pipeline = createDetectionPipeline({
    config: o.config,
    plugins,
    pool,
    evidence: o.evidence,
    findingSink: o.findingSink,
    timeZone: o.timeZone,
    logger: o.logger,
    metrics: o.metrics,
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
  });
  let closing: Promise<void> | null = null;
  return {
    pipeline,
    plugins,
    pool,
    close() {
      closing ??= (async () => {
        await pipeline.close();
        await plugins.close();
        await pool.close();
      })();
      return closing;
    },
  };
}
