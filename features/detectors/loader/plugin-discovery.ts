/**
 * Finding plugins and reading their manifests, without importing any plugin code: the loader
 * uses it before it starts a plugin's worker, and processes without the detect role use it to
 * label finding types exactly as the plugins declare them.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FindingTypeInfo } from '../../../core/contracts/finding.js';
import { Codes, GridwatchError } from '../../../core/errors.js';
import { PluginManifestSchema } from '../plugin-api/contract.js';
import type { DetectorsConfig } from '../config/detectors-config.js';

export const MANIFEST = 'gridwatch-plugin.json';

function jsonLine(text: string, err: unknown): string {
  const m = /position (\d+)/.exec(err instanceof Error ? err.message : '');
  if (!m) return '';
  return `:${text.slice(0, Number(m[1])).split('\n').length}`;
}

/** The built-in plugins folder plus gateway.yaml's pluginDirs (relative to baseDir). */
export function pluginRoots(
  config: Pick<DetectorsConfig, 'pluginDirs'>,
  baseDir: string,
  builtinDir?: string | null,
): string[] {
  const under =
    builtinDir === undefined ? fileURLToPath(new URL('../plugins/', import.meta.url)) : builtinDir;
  return [
    ...(under ? [under] : []),
    ...config.pluginDirs.map((d) => (isAbsolute(d) ? d : resolve(baseDir, d))),
  ];
}

/** Each plugin folder: a root that is itself a plugin, or the sub-folders of a root, sorted. */
export async function listPluginDirs(roots: string[], missing: (dir: string) => void): Promise<string[]> {
  const out: string[] = [];
  for (const d of roots) {
    if (!existsSync(d)) {
      missing(d);
      continue;
    }
    if (existsSync(join(d, MANIFEST))) {
      out.push(d);
      continue;
    }
    for (const name of (await readdir(d)).sort()) {
      const sub = join(d, name);
      if (name.startsWith('.') || !(await stat(sub)).isDirectory()) continue;
      out.push(sub);
    }
  }
  return out;
}

/** A folder's manifest (gridwatch-plugin.json, or package.json's "gridwatch" key), unparsed. */
export async function readManifest(dir: string): Promise<{ manifest: unknown; file: string } | null> {
  const mf = join(dir, MANIFEST);
  if (existsSync(mf)) {
    const text = await readFile(mf, 'utf8');
    try {
      return { manifest: JSON.parse(text), file: mf };
    } catch (err) {
      throw new GridwatchError(
        Codes.GW_PLUGIN_MANIFEST,
        `${mf}${jsonLine(text, err)}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  const pj = join(dir, 'package.json');
  if (existsSync(pj)) {
    const text = await readFile(pj, 'utf8');
    let pkg: unknown;
    try {
      pkg = JSON.parse(text);
    } catch (err) {
      throw new GridwatchError(
        Codes.GW_PLUGIN_MANIFEST,
        `${pj}${jsonLine(text, err)}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (pkg && typeof pkg === 'object' && 'gridwatch' in pkg)
      return { manifest: (pkg as { gridwatch: unknown }).gridwatch, file: `${pj} (key "gridwatch")` };
  }
  return null;
}

/**
 * Finding types declared by every plugin with a valid manifest, as the plugins label them.
 * Invalid manifests are skipped here: the loader, in the detect process, reports them.
 */
export async function readPluginTypes(
  config: Pick<DetectorsConfig, 'pluginDirs'>,
  baseDir: string,
): Promise<FindingTypeInfo[]> {
  const out: FindingTypeInfo[] = [];
  for (const dir of await listPluginDirs(pluginRoots(config, baseDir), () => undefined)) {
    const found = await readManifest(dir).catch(() => null);
    const parsed = found ? PluginManifestSchema.safeParse(found.manifest) : null;
    if (!parsed?.success) continue;
    for (const t of parsed.data.findingTypes)
      out.push({
        type: t.type,
        zh: t.zh,
        en: t.en,
        ...(t.color ? { color: t.color } : {}),
        ...(t.icon ? { icon: t.icon } : {}),
      });
  }
  return out;
}
