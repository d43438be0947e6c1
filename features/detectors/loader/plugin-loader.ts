import { basename } from 'node:path';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import type { PluginManifest, RuleEmission, RuleInput } from '../plugin-api/contract.js';
import type { FindingTypeInfo } from '../../../core/contracts/finding.js';
import type { CameraConfig } from '../../../core/contracts/camera-schema.js';
import { Codes, ClosedError, GridwatchError, type ErrorCode, type InputIssue } from '../../../core/errors.js';
import type { DetectorsConfig } from '../config/detectors-config.js';
import { createLogForwarder } from './forward-log.js';
import {
  modelPluginRef,
  resolveEntry,
  validateManifest,
  type ModelPluginRef,
} from './manifest-validation.js';
import { createPluginHost, type PluginError, type PluginHost } from './plugin-host.js';
import { listPluginDirs, pluginRoots, readManifest } from './plugin-discovery.js';
import { validateCameraPlugins } from './validate-camera.js';

export type { PluginError } from './plugin-host.js';

export interface PluginStatus {
  name: string;
  version: string | null;
  dir: string;
  /** Manifest kind; null when the manifest did not parse. */
  kind: PluginManifest['kind'] | null;
  status: 'enabled' | 'disabled';
  findingTypes: string[];
  error: PluginError | null;
}

/** A camera's instance of a rule; calls go to the plugin's worker thread. */
export interface RuleHandle {
  readonly plugin: string;
  readonly version: string;
  readonly type: string;
  /** Whether the rule wants frame pixels (manifest consumes "pixels"). */
  readonly wantsPixels: boolean;
  /** Labels the rule reads (manifest "consumes"); empty = not declared, assume any. */
  readonly consumes: readonly string[];
  /** Resolves with [] once the plugin is disabled; never rejects. */
  evaluate(input: RuleInput): Promise<RuleEmission[]>;
  close(): Promise<void>;
}

export interface PluginSet {
  status(): PluginStatus[];
  typeInfos(): FindingTypeInfo[];
  /** Rule names (finding types) of enabled plugins. */
  ruleNames(): string[];
  /**
   * Model plugins (kind "model" or "both") from their manifests, for the inference pool: they
   * are imported in its worker threads only, never here.
   */
  modelPlugins(): ModelPluginRef[];
  /** Unknown rules, options failing the plugin's schema, unknown model; paths relative to the camera entry. */
  validateCamera(cam: CameraConfig & { file?: string; line?: number }): InputIssue[];
  /** Null when no enabled plugin raises `rule` (logged, not thrown: the camera's other rules run). */
  createRule(rule: string, cameraId: string, options: unknown): Promise<RuleHandle | null>;
  close(): Promise<void>;
}

export interface LoadPluginsOptions {
  config: DetectorsConfig;
  /** Directory config.pluginDirs are relative to (the gateway.yaml folder). */
  baseDir: string;
  logger: Logger;
  metrics: Registry;
  /** Built-in plugins folder; default detectors/plugins. Tests point it elsewhere. */
  builtinDir?: string | null;
}

interface Entry {
  name: string;
  dir: string;
  manifest: PluginManifest | null;
  /** Options schema rebuilt from the JSON Schema the plugin's thread sent (no import here). */
  schema: z.ZodType | undefined;
  /** Failure before the plugin's thread existed (manifest, entry, duplicate). */
  early: PluginError | null;
  host: PluginHost | null;
  model: ModelPluginRef | null;
  instances: number;
}

const errorOf = (e: Entry): PluginError | null => e.early ?? e.host?.error ?? null;

/**
 * Loads detector plugins: discovery (plugin-discovery.ts) → manifest and entry checks
 * (manifest-validation.ts) → for rules, a worker thread per plugin (plugin-host.ts). The main
 * thread never imports plugin code. A module that throws at import, a rule that throws, or a
 * call that hangs past pluginTimeoutMs disables that plugin alone, with the error kept for
 * health, while the others keep running. Model plugins are listed here and run in the
 * inference pool.
 */
export async function loadPlugins(opts: LoadPluginsOptions): Promise<PluginSet> {
  const log = opts.logger.child({ component: 'plugin-loader' });
  const cfg = opts.config;
  const mDisabled = new Counter({
    name: 'gridwatch_detector_plugins_disabled_total',
    help: 'Plugins disabled after a load error, a throw or a timeout',
    labelNames: ['plugin', 'code'],
    registers: [opts.metrics],
  });
  const forward = createLogForwarder(log, 'plugin');
  const entries: Entry[] = [];
  const byType = new Map<string, Entry>();
  let nextCall = 1;
  let closed = false;
  let closing: Promise<void> | null = null;

  function reportDisabled(e: Entry, code: string, message: string): void {
    mDisabled.inc({ plugin: e.name, code });
    log.error({ plugin: e.name, code, dir: e.dir }, message);
  }
  function disableEarly(e: Entry, code: string, message: string): void {
    if (errorOf(e)) return;
    e.early = { code, message, at: Date.now() };
    reportDisabled(e, code, message);
  }
  function disable(e: Entry, code: ErrorCode, message: string): void {
    if (e.host) e.host.disable(code, message);
    else disableEarly(e, code, message);
  }
  const codeOf = (err: unknown, fallback: ErrorCode) => (err instanceof GridwatchError ? err.code : fallback);
  const text = (err: unknown) => (err instanceof Error ? err.message : String(err));

  async function loadOne(dir: string): Promise<void> {
    const e: Entry = {
      name: basename(dir),
      dir,
      manifest: null,
      schema: undefined,
      early: null,
      host: null,
      model: null,
      instances: 0,
    };
    let m: PluginManifest;
    try {
      const found = await readManifest(dir);
      if (!found) {
        log.debug({ dir }, 'no gridwatch-plugin.json or package.json "gridwatch" key; not a plugin');
        return;
      }
      entries.push(e);
      m = validateManifest(found, e.name);
    } catch (err) {
      if (!entries.includes(e)) entries.push(e);
      const msg = text(err);
      disableEarly(
        e,
        codeOf(err, Codes.GW_PLUGIN_MANIFEST),
        msg.startsWith('plugin ') ? msg : `plugin ${e.name}: ${msg}`,
      );
      return;
    }
    e.manifest = m;
    e.name = m.name;
    if (entries.some((o) => o !== e && o.manifest && o.name === m.name && !errorOf(o))) {
      disableEarly(
        e,
        Codes.GW_PLUGIN_DUPLICATE,
        `plugin ${m.name} in ${dir}: a plugin with this name is already loaded`,
      );
      return;
    }
    const clash = m.findingTypes.find((t) => byType.has(t.type));
    if (clash) {
      disableEarly(
        e,
        Codes.GW_PLUGIN_DUPLICATE,
        `plugin ${m.name} in ${dir}: finding type ${clash.type} is already raised by plugin ${byType.get(clash.type)?.name}`,
      );
      return;
    }
    let entryPath: string;
    try {
      entryPath = resolveEntry(dir, m.entry);
      if (m.kind !== 'rule') e.model = modelPluginRef(dir, m);
    } catch (err) {
      disableEarly(e, codeOf(err, Codes.GW_PLUGIN_ENTRY), `plugin ${m.name}: ${text(err)}`);
      return;
    }
    if (m.kind === 'model') {
      log.info({ plugin: m.name, version: m.version, license: m.license }, 'model plugin found');
      return;
    }
    const host = createPluginHost({
      name: m.name,
      dir,
      entryPath,
      timeoutMs: cfg.pluginTimeoutMs,
      // Importing starts a thread and compiles the module: slower than a call, above all under tsx.
      loadTimeoutMs: cfg.pluginLoadTimeoutMs,
      logger: opts.logger,
      onDisable: (code, message) => reportDisabled(e, code, message),
      onLog: (line) => forward(m.name, line),
    });
    e.host = host;
    const r = await host.load();
    if (r.type !== 'loaded') {
      host.disable(Codes.GW_PLUGIN_LOAD, `plugin ${m.name}: loading ${entryPath} failed: ${r.message}`);
      return;
    }
    if (!r.hasRule) {
      host.disable(
        Codes.GW_PLUGIN_LOAD,
        `plugin ${m.name}: manifest kind is ${m.kind} but the module has no createRule`,
      );
      return;
    }
    if (m.kind === 'both' && !r.hasModel) {
      host.disable(
        Codes.GW_PLUGIN_LOAD,
        `plugin ${m.name}: manifest kind is both but the module has no createModel`,
      );
      return;
    }
    if (r.optionsJsonSchema) {
      try {
        e.schema = z.fromJSONSchema(r.optionsJsonSchema as Parameters<typeof z.fromJSONSchema>[0]);
      } catch (err) {
        log.warn(
          { plugin: m.name, err },
          'options schema not usable on the main thread; options are checked when rules start',
        );
      }
    }
    for (const t of m.findingTypes) byType.set(t.type, e);
    log.info(
      { plugin: m.name, version: m.version, types: m.findingTypes.map((t) => t.type) },
      'plugin loaded',
    );
  }

  for (const dir of await listPluginDirs(pluginRoots(cfg, opts.baseDir, opts.builtinDir), (d: string) =>
    log.error({ dir: d }, `plugin directory ${d} does not exist`),
  ))
    await loadOne(dir);

  const enabled = () => entries.filter((e) => !errorOf(e) && e.manifest);
  const modelPlugins = () => enabled().flatMap((e) => (e.model ? [e.model] : []));
  const ruleSchemas = () => new Map([...byType.entries()].map(([t, e]) => [t, e.schema] as const));

  return {
    status() {
      return entries.map((e) => ({
        name: e.name,
        version: e.manifest?.version ?? null,
        dir: e.dir,
        kind: e.manifest?.kind ?? null,
        status: errorOf(e) ? 'disabled' : 'enabled',
        findingTypes: e.manifest?.findingTypes.map((t) => t.type) ?? [],
        error: errorOf(e),
      }));
    },
    typeInfos() {
      return enabled().flatMap((e) =>
        e.manifest!.findingTypes.map((t) => ({
          type: t.type,
          zh: t.zh,
          en: t.en,
          ...(t.color ? { color: t.color } : {}),
          ...(t.icon ? { icon: t.icon } : {}),
        })),
      );
    },
    ruleNames() {
      return [...byType.entries()].filter(([, e]) => !errorOf(e)).map(([t]) => t);
    },
    modelPlugins,
    validateCamera(cam) {
      return validateCameraPlugins(cam, { rules: ruleSchemas(), models: modelPlugins().map((p) => p.name) });
    },
    async createRule(rule, cameraId, options) {
      if (closed) throw new ClosedError('plugin loader');
      const e = byType.get(rule);
      const host = e?.host;
      if (!e || !host || errorOf(e) || !e.manifest) {
        log.warn(
          { rule, cameraId, reason: (e && errorOf(e)?.message) ?? 'no plugin raises it' },
          'rule not available for camera',
        );
        return null;
      }
      const instance = ++e.instances;
      const r = await host.call(
        { type: 'create', call: nextCall++, instance, cameraId, options },
        `createRule for camera ${cameraId}`,
      );
      if (r.type === 'callError' && r.options) {
        log.error(
          { plugin: e.name, rule, cameraId, error: r.message },
          `camera ${cameraId}: options of rule ${rule} rejected; the rule does not run on this camera`,
        );
        return null;
      }
      if (r.type !== 'ok') {
        disable(
          e,
          Codes.GW_PLUGIN_FAILED,
          `plugin ${e.name}: createRule for camera ${cameraId} threw: ${r.type === 'callError' ? r.message : r.type}; plugin disabled`,
        );
        return null;
      }
      const manifest = e.manifest;
      let disposed = false;
      return {
        plugin: e.name,
        version: manifest.version,
        type: rule,
        wantsPixels: manifest.consumes.includes('pixels'),
        consumes: manifest.consumes.filter((c) => c !== 'pixels'),
        async evaluate(input) {
          if (host.error || disposed) return [];
          const res = await host.call(
            { type: 'evaluate', call: nextCall++, instance, input },
            `evaluate for camera ${cameraId}`,
          );
          if (res.type === 'ok') return (res.emissions ?? []).filter((em) => em.type === rule);
          if (!host.error)
            host.disable(
              Codes.GW_PLUGIN_FAILED,
              `plugin ${e.name}: evaluate for camera ${cameraId} threw: ${res.type === 'callError' ? res.message : res.type}; plugin disabled`,
            );
          return [];
        },
        async close() {
          if (disposed) return;
          disposed = true;
          if (host.error || closed) return;
          const res = await host.call(
            { type: 'dispose', call: nextCall++, instance },
            `close for camera ${cameraId}`,
          );
          if (res.type !== 'ok')
            log.warn(
              { plugin: e.name, cameraId, error: res.type === 'callError' ? res.message : res.type },
              'rule close failed',
            );
        },
      };
    },
    close() {
      closing ??= (async () => {
        closed = true;
        await Promise.all(entries.map((e) => e.host?.close()));
      })();
      return closing;
    },
  };
}
