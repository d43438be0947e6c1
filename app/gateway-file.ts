import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { GatewayConfigSchema, type GatewayConfig } from './gateway-schema.js';
import { LIMITS, readConfigText } from '../core/config/read-config-text.js';
import { parseYamlConfig } from '../core/config/yaml-config.js';
import { zodToInputIssues, type Locate } from '../core/config/zod-issues.js';
import type { ConfigRoot } from '../core/config-store/config-store.js';

export interface LoadedGatewayConfig {
  /** Absolute path of gateway.yaml. */
  file: string;
  /** Parsed config; dataDir, cameras.dirs, grids.file and detectors.pluginDirs are absolute. */
  config: GatewayConfig;
  /** Folder of gateway.yaml: relative paths elsewhere (secrets files) resolve against it. */
  baseDir: string;
  locate: Locate;
}

/** Reads and validates gateway.yaml; throws ConfigError listing every issue at once. */
export async function loadGatewayFile(file: string): Promise<LoadedGatewayConfig> {
  const abs = resolve(file);
  const read = await readConfigText(abs, LIMITS.yamlBytes, 'gateway config');
  if (!read.ok) throw new ConfigError(`gateway config ${abs} cannot be used`, [read.issue]);
  const parsed = parseYamlConfig(abs, read.text);
  if (parsed.issues.length) throw new ConfigError(`gateway config ${abs} is not valid YAML`, parsed.issues);
  // An empty file means "all defaults".
  const r = GatewayConfigSchema.safeParse(parsed.data ?? {}, { reportInput: true });
  if (!r.success) {
    throw new ConfigError(
      `gateway config ${abs} has errors`,
      zodToInputIssues(abs, r.error as z.ZodError, parsed.locate),
    );
  }
  const baseDir = dirname(abs);
  const c = r.data;
  const config: GatewayConfig = {
    ...c,
    dataDir: resolve(baseDir, c.dataDir),
    cameras: { ...c.cameras, dirs: c.cameras.dirs.map((d) => resolve(baseDir, d)) },
    grids: { ...c.grids, file: resolve(baseDir, c.grids.file) },
    detectors: { ...c.detectors, pluginDirs: c.detectors.pluginDirs.map((d) => resolve(baseDir, d)) },
  };
  return { file: abs, config, baseDir, locate: parsed.locate };
}

/** The part of gateway.yaml the config store needs, with the grid codes it must check. */
export function configRootOf(g: LoadedGatewayConfig): ConfigRoot {
  const refs: ConfigRoot['gridCodeRefs'] = g.config.users.map((u, i) => ({
    path: ['users', i, 'scope'],
    code: u.scope,
    what: 'scope',
  }));
  const fb = g.config.dispatcher.fallbackGridCode;
  if (fb !== undefined)
    refs.push({ path: ['dispatcher', 'fallbackGridCode'], code: fb, what: 'fallback grid' });
  return {
    file: g.file,
    baseDir: g.baseDir,
    cameraDirs: g.config.cameras.dirs,
    gridFile: g.config.grids.file,
    gridCodeRefs: refs,
    locate: g.locate,
  };
}
