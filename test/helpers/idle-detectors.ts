import type { FindingTypeInfo } from '../../core/contracts/finding.js';
import { Codes, GridwatchError } from '../../core/errors.js';
import {
  readPluginTypes,
  type CreateDetectorsOptions,
  type Detectors,
  type DetectionPipeline,
  type InferencePool,
  type InferencePoolHealth,
  type PluginSet,
  type PluginStatus,
} from '../../features/detectors/index.js';

/**
 * The detect role without plugin threads or a model, for buildGateway's `seams.detectors`: the
 * one way a test gateway replaces the detectors. It is for suites whose subject is not detection
 * (the wall): loading the TF.js model would cost each such file seconds. Frames from ingest are
 * counted and dropped, so no finding comes from a camera: tests submit findings to the real
 * dispatcher's sink. The finding types are read from the real plugin manifests, so the labels
 * and colours are the ones production serves. Detection itself is tested with the real pool and
 * plugins (test/detectors).
 */
export function idleDetectors(
  opts: { plugins?: PluginStatus[] } = {},
): (o: CreateDetectorsOptions) => Promise<Detectors> {
  return async (o) => {
    const types: FindingTypeInfo[] = await readPluginTypes(o.config, o.baseDir);
    const status = opts.plugins ?? [];
    let frames = 0;
    let cameras = 0;
    const poolHealth = (): InferencePoolHealth => ({
      backend: 'none (idle test detectors)',
      defaultModel: o.config.model.plugin,
      models: [],
      fallbacks: [],
      workers: 1,
      alive: 1,
      queueDepth: 0,
      inFlight: 0,
      restarts: 0,
      dropped: 0,
      lastError: null,
    });
    const noModel = () =>
      Promise.reject(new GridwatchError(Codes.GW_NOT_READY, 'this test gateway runs no model'));
    const plugins: PluginSet = {
      status: () => status,
      typeInfos: () => types,
      ruleNames: () => types.map((t) => t.type),
      modelPlugins: () => [],
      validateCamera: () => [],
      createRule: () => Promise.resolve(null),
      close: () => Promise.resolve(),
    };
    const pool: InferencePool = {
      ready: () => Promise.resolve(),
      infer: noModel,
      health: poolHealth,
      restartWorker: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const pipeline: DetectionPipeline = {
      process: () => {
        frames += 1;
        return Promise.resolve();
      },
      update: (list) => {
        cameras = list.length;
        return Promise.resolve();
      },
      setSuppressions: () => undefined,
      typeInfos: () => types,
      health: () => ({
        cameras,
        framesProcessed: frames,
        framesInferred: 0,
        framesSkippedByMotion: 0,
        framesDropped: 0,
        findingsSubmitted: 0,
        lastError: null,
        pool: poolHealth(),
        plugins: status,
      }),
      recheck: noModel,
      close: () => Promise.resolve(),
    };
    return { pipeline, plugins, pool, close: () => Promise.resolve() };
  };
}
