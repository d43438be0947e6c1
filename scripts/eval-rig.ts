/**
 * The detector parts an offline run needs (`npm run analyze`, `npm run eval`): the detectors
 * config (schema defaults, or the `detectors:` section of a gateway.yaml so a tuned gateway is
 * reproduced offline), the plugins and the model pool, built the way app/build-gateway.ts
 * builds them for the live gateway.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { loadGatewayFile } from '../app/gateway-file.js';
import type { GridIndex, GridInfo } from '../core/contracts/grid-index.js';
import {
  DetectorsConfigSchema,
  type DetectorsConfig,
} from '../features/detectors/config/detectors-config.js';
import { loadPlugins, type PluginSet } from '../features/detectors/loader/plugin-loader.js';
import { createInferencePool, type InferencePool } from '../features/detectors/model/inference-pool.js';

export interface DetectorPlugins {
  config: DetectorsConfig;
  /** Folder relative paths of the config resolve against (gateway.yaml's, else the cwd). */
  baseDir: string;
  /** gateway.yaml's time zone when one was read. */
  timeZone: string | null;
  plugins: PluginSet;
  /** Starts the model pool (seconds: the models load); the rig closes it. */
  openPool(): Promise<InferencePool>;
  close(): Promise<void>;
}

export interface DetectorRig extends DetectorPlugins {
  pool: InferencePool;
}

export interface DetectorRigOptions {
  /** gateway.yaml whose `detectors:` section (and time zone) to use. */
  gateway?: string;
  /** Applied over the config (command-line flags). */
  override?: (c: DetectorsConfig) => DetectorsConfig;
  logger: Logger;
  metrics: Registry;
}

/**
 * Offline runs (`npm run analyze`, the demo-config test) route nothing: any grid code a camera
 * names is accepted as is, so a camera file is checked without the city's grid file.
 */
export function acceptingGrids(): GridIndex {
  const info = (code: string): GridInfo => ({
    code,
    name: code,
    level: 'grid',
    parent: null,
    kind: 'offline',
  });
  return {
    size: 0,
    lookup: () => null,
    get: info,
    path: (c) => [info(c)],
    children: () => [],
    roots: () => [],
    search: () => [],
  };
}

/** Config and plugins only (quick): enough to check camera files before the models load. */
export async function openDetectorPlugins(o: DetectorRigOptions): Promise<DetectorPlugins> {
  let config: DetectorsConfig;
  let baseDir = process.cwd();
  let timeZone: string | null = null;
  if (o.gateway) {
    // loadGatewayFile throws a ConfigError naming file, line and field.
    const g = await loadGatewayFile(o.gateway);
    config = g.config.detectors;
    baseDir = g.baseDir;
    timeZone = g.config.timezone;
  } else {
    config = DetectorsConfigSchema.parse({});
  }
  if (o.override) config = o.override(config);
  const plugins = await loadPlugins({ config, baseDir, logger: o.logger, metrics: o.metrics });
  let pool: InferencePool | null = null;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await pool?.close();
      await plugins.close();
    })());
  return {
    config,
    baseDir,
    timeZone,
    plugins,
    async openPool() {
      if (pool) return pool;
      const p = createInferencePool({
        workers: config.workers,
        backend: config.backend,
        logger: o.logger,
        metrics: o.metrics,
        model: config.model,
        plugins: plugins.modelPlugins(),
        ...(config.model.dir ? { modelsDir: resolve(baseDir, config.model.dir) } : {}),
      });
      pool = p;
      await p.ready();
      return p;
    },
    close,
  };
}

/** Config, plugins and the model pool, started. */
export async function openDetectorRig(o: DetectorRigOptions): Promise<DetectorRig> {
  const d = await openDetectorPlugins(o);
  try {
    return { ...d, pool: await d.openPool() };
  } catch (err) {
    await d.close();
    throw err;
  }
}
