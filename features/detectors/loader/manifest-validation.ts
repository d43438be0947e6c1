/**
 * Checking a plugin's manifest and entry, without importing any plugin code. Used by the
 * loader before it starts a plugin's worker, and to list model plugins for the inference
 * workers (which are the only place a model plugin is imported).
 */
import { existsSync } from 'node:fs';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Codes, GridwatchError } from '../../../core/errors.js';
import { PluginManifestSchema, type PluginManifest } from '../plugin-api/contract.js';
import type { DetectorsConfig } from '../config/detectors-config.js';
import { listPluginDirs, pluginRoots, readManifest } from './plugin-discovery.js';
import { zodIssuesText } from '../../../core/config/zod-issues.js';

/** A model plugin as the main thread knows it: from its manifest only, never imported there. */
export interface ModelPluginRef {
  name: string;
  version: string;
  /** file: URL of the entry module, imported inside the inference workers only. */
  entryUrl: string;
  dir: string;
  license: string | null;
}

/** The manifest parsed against the contract's schema; GW_PLUGIN_MANIFEST listing every issue. */
export function validateManifest(
  found: { manifest: unknown; file: string },
  dirName: string,
): PluginManifest {
  const parsed = PluginManifestSchema.safeParse(found.manifest);
  if (!parsed.success) {
    const issues = zodIssuesText(parsed.error);
    throw new GridwatchError(
      Codes.GW_PLUGIN_MANIFEST,
      `plugin ${dirName}: invalid manifest ${found.file}: ${issues}`,
    );
  }
  const m = parsed.data;
  if (m.kind !== 'rule' && !m.license)
    throw new GridwatchError(
      Codes.GW_PLUGIN_MANIFEST,
      `plugin ${m.name}: invalid manifest ${found.file}: license: a model plugin must name the licence of its weights (SPDX id)`,
    );
  return m;
}

/** The entry module's path, inside the plugin folder; .ts beside a missing .js under tsx. */
export function resolveEntry(dir: string, entry: string): string {
  const abs = resolve(dir, entry);
  const rel = relative(dir, abs);
  if (rel.startsWith('..') || isAbsolute(rel))
    throw new GridwatchError(
      Codes.GW_PLUGIN_MANIFEST,
      `entry ${JSON.stringify(entry)} points outside the plugin folder ${dir}`,
    );
  if (existsSync(abs)) return abs;
  // Under tsx/vitest the sources are .ts; a built plugin ships the .js named in the manifest.
  const ts = abs.replace(/\.(c|m)?js$/, (_m, p: string | undefined) => `.${p ?? ''}ts`);
  if (ts !== abs && existsSync(ts)) return ts;
  throw new GridwatchError(
    Codes.GW_PLUGIN_ENTRY,
    `entry ${entry} not found in ${dir}${ts !== abs ? ` (nor ${basename(ts)})` : ''}`,
  );
}

export function modelPluginRef(dir: string, m: PluginManifest): ModelPluginRef {
  return {
    name: m.name,
    version: m.version,
    entryUrl: pathToFileURL(resolveEntry(dir, m.entry)).href,
    dir,
    license: m.license ?? null,
  };
}

/**
 * Model plugins (kind "model" or "both") in the plugin roots, from their manifests; folders
 * with a broken manifest or entry are passed to `skip` (the loader reports them).
 */
export async function readModelPlugins(
  config: Pick<DetectorsConfig, 'pluginDirs'>,
  baseDir: string,
  builtinDir?: string | null,
  skip: (dir: string, err: unknown) => void = () => undefined,
): Promise<ModelPluginRef[]> {
  const out: ModelPluginRef[] = [];
  for (const dir of await listPluginDirs(pluginRoots(config, baseDir, builtinDir), () => undefined)) {
    try {
      const found = await readManifest(dir);
      if (!found) continue;
      const m = validateManifest(found, basename(dir));
      if (m.kind === 'rule' || out.some((r) => r.name === m.name)) continue;
      out.push(modelPluginRef(dir, m));
    } catch (err) {
      skip(dir, err);
    }
  }
  return out;
}
