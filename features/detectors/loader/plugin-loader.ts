import { existsSync } from 'node:fs';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { z } from 'zod';
import {
  PluginManifestSchema,
  type DetectorPlugin,
  type PluginManifest,
  type RuleEmission,
  type RuleInput,
} from '../plugin-api/contract.js';
import type { FindingTypeInfo } from '../../../core/contracts/finding.js';
import type { CameraConfig } from '../../../core/contracts/camera-schema.js';
import { Codes, ClosedError, GridwatchError, type InputIssue } from '../../../core/errors.js';
import type { DetectorsConfig } from '../config/detectors-config.js';
import { listPluginDirs, pluginRoots, readManifest } from './plugin-discovery.js';
import { startWorker } from '../../../core/util/worker-entry.js';
import type { HostMessage, PluginReply } from './plugin-protocol.js';

export interface PluginError {
  code: string;
  message: string;
  at: number;
}

export interface PluginStatus {
  name: string;
  version: string | null;
  dir: string;
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
  /** Unknown rules and options failing the plugin's schema; paths relative to the camera entry. */
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
  version: string;
  dir: string;
  manifest: PluginManifest | null;
  schema: z.ZodType | undefined;
  error: PluginError | null;
  worker: Worker | null;
  calls: Map<number, { resolve: (r: PluginReply) => void; timer: NodeJS.Timeout }>;
  instances: number;
}

/**
 * Loads detector plugins. Each plugin runs in its own worker thread: a module that throws at
 * import, a rule that throws, or a call that hangs past pluginTimeoutMs (even a synchronous
 * infinite loop, since the thread is terminated) disables that plugin alone, with the error
 * kept for health, while the other plugins keep running.
 */
export async function loadPlugins(opts: LoadPluginsOptions): Promise<PluginSet> {
  const log = opts.logger.child({ component: 'plugin-loader' });
  const timeoutMs = opts.config.pluginTimeoutMs;
  // Importing starts a thread and compiles the module: slower than a call, above all under tsx.
  const loadTimeoutMs = opts.config.pluginLoadTimeoutMs;
  const mDisabled = new Counter({
    name: 'gridwatch_detector_plugins_disabled_total',
    help: 'Plugins disabled after a load error, a throw or a timeout',
    labelNames: ['plugin', 'code'],
    registers: [opts.metrics],
  });
  const dirs = pluginRoots(opts.config, opts.baseDir, opts.builtinDir);
  const entries: Entry[] = [];
  const byType = new Map<string, Entry>();
  let nextCall = 1;
  let closed = false;

  function disable(e: Entry, code: string, message: string): void {
    if (e.error) return;
    e.error = { code, message, at: Date.now() };
    mDisabled.inc({ plugin: e.name, code });
    log.error({ plugin: e.name, code, dir: e.dir }, message);
    const w = e.worker;
    e.worker = null;
    for (const c of e.calls.values()) {
      clearTimeout(c.timer);
      c.resolve({ type: 'callError', call: -1, message });
    }
    e.calls.clear();
    if (w) void w.terminate();
  }

  function call(e: Entry, msg: HostMessage & { call: number }, what: string): Promise<PluginReply> {
    return new Promise((res) => {
      const w = e.worker;
      if (!w || e.error) {
        res({ type: 'callError', call: msg.call, message: e.error?.message ?? 'plugin not running' });
        return;
      }
      const timer = setTimeout(() => {
        disable(
          e,
          Codes.GW_PLUGIN_TIMEOUT,
          `plugin ${e.name}: ${what} did not return within ${timeoutMs} ms (pluginTimeoutMs); plugin disabled`,
        );
      }, timeoutMs);
      e.calls.set(msg.call, { resolve: res, timer });
      try {
        w.postMessage(msg);
      } catch (err) {
        clearTimeout(timer);
        e.calls.delete(msg.call);
        res({
          type: 'callError',
          call: msg.call,
          message: `cannot send to plugin: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    });
  }

  function resolveEntry(dir: string, entry: string): string {
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

  async function loadOne(dir: string): Promise<void> {
    const e: Entry = {
      name: basename(dir),
      version: '0.0.0',
      dir,
      manifest: null,
      schema: undefined,
      error: null,
      worker: null,
      calls: new Map(),
      instances: 0,
    };
    let found: Awaited<ReturnType<typeof readManifest>>;
    try {
      found = await readManifest(dir);
    } catch (err) {
      entries.push(e);
      disable(
        e,
        err instanceof GridwatchError ? err.code : Codes.GW_PLUGIN_MANIFEST,
        `plugin ${e.name}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return;
    }
    if (!found) {
      log.debug({ dir }, 'no gridwatch-plugin.json or package.json "gridwatch" key; not a plugin');
      return;
    }
    entries.push(e);
    const parsed = PluginManifestSchema.safeParse(found.manifest);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      disable(e, Codes.GW_PLUGIN_MANIFEST, `plugin ${e.name}: invalid manifest ${found.file}: ${issues}`);
      return;
    }
    const m = parsed.data;
    e.manifest = m;
    e.name = m.name;
    e.version = m.version;
    if (entries.some((o) => o !== e && o.manifest && o.name === m.name && !o.error)) {
      disable(
        e,
        Codes.GW_PLUGIN_DUPLICATE,
        `plugin ${m.name} in ${dir}: a plugin with this name is already loaded`,
      );
      return;
    }
    const clash = m.findingTypes.find((t) => byType.has(t.type));
    if (clash) {
      disable(
        e,
        Codes.GW_PLUGIN_DUPLICATE,
        `plugin ${m.name} in ${dir}: finding type ${clash.type} is already raised by plugin ${byType.get(clash.type)?.name}`,
      );
      return;
    }
    let entryPath: string;
    try {
      entryPath = resolveEntry(dir, m.entry);
    } catch (err) {
      disable(
        e,
        err instanceof GridwatchError ? err.code : Codes.GW_PLUGIN_ENTRY,
        `plugin ${m.name}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return;
    }
    const w = startWorker(import.meta.url, 'plugin-worker', { name: `plugin:${m.name}` });
    e.worker = w;
    const loaded = new Promise<PluginReply>((res) => {
      const timer = setTimeout(
        () =>
          res({
            type: 'loadError',
            message: `import did not finish within ${loadTimeoutMs} ms (pluginLoadTimeoutMs)`,
          }),
        loadTimeoutMs,
      );
      w.on('message', (r: PluginReply) => {
        if (r.type === 'log') return forwardLog(m.name, r.line);
        if (r.type === 'loaded' || r.type === 'loadError') {
          clearTimeout(timer);
          res(r);
          return;
        }
        const c = e.calls.get(r.call);
        if (!c) return;
        clearTimeout(c.timer);
        e.calls.delete(r.call);
        c.resolve(r);
      });
      w.on('error', (err) => {
        clearTimeout(timer);
        res({ type: 'loadError', message: err.message });
        disable(e, Codes.GW_PLUGIN_CRASHED, `plugin ${m.name}: its thread crashed: ${err.message}`);
      });
      w.on('exit', (code) => {
        clearTimeout(timer);
        res({ type: 'loadError', message: `thread exited with code ${code}` });
        if (e.worker === w && !closed)
          disable(e, Codes.GW_PLUGIN_CRASHED, `plugin ${m.name}: its thread exited (code ${code})`);
      });
    });
    w.postMessage({
      type: 'load',
      entryUrl: pathToFileURL(entryPath).href,
      name: m.name,
      logLevel: opts.logger.level,
    } satisfies HostMessage);
    const r = await loaded;
    if (r.type !== 'loaded') {
      disable(
        e,
        Codes.GW_PLUGIN_LOAD,
        `plugin ${m.name}: loading ${entryPath} failed: ${r.type === 'loadError' ? r.message : 'unexpected reply'}`,
      );
      return;
    }
    if (m.kind !== 'model' && !r.hasRule) {
      disable(
        e,
        Codes.GW_PLUGIN_LOAD,
        `plugin ${m.name}: manifest kind is ${m.kind} but the module has no createRule`,
      );
      return;
    }
    // The worker imported it without throwing or hanging; import here too for the options
    // schema, which validateCamera needs synchronously when the config store loads cameras.
    try {
      const mod = (await import(pathToFileURL(entryPath).href)) as { default?: DetectorPlugin };
      e.schema = mod.default?.optionsSchema as z.ZodType | undefined;
    } catch (err) {
      disable(
        e,
        Codes.GW_PLUGIN_LOAD,
        `plugin ${m.name}: import on the main thread failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return;
    }
    for (const t of m.findingTypes) byType.set(t.type, e);
    log.info(
      { plugin: m.name, version: m.version, types: m.findingTypes.map((t) => t.type) },
      'plugin loaded',
    );
  }

  const pluginLogs = new Map<string, Logger>();
  function forwardLog(name: string, line: string): void {
    let pl = pluginLogs.get(name);
    if (!pl) {
      pl = log.child({ plugin: name });
      pluginLogs.set(name, pl);
    }
    try {
      const {
        level,
        msg,
        time: _t,
        pid: _p,
        hostname: _h,
        plugin: _n,
        ...rest
      } = JSON.parse(line) as Record<string, unknown> & { level: number; msg?: string };
      const fn = level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : 'debug';
      pl[fn](rest, typeof msg === 'string' ? msg : '');
    } catch (err) {
      pl.warn({ err, line: line.slice(0, 500) }, 'unparseable log line from plugin');
    }
  }

  for (const dir of await listPluginDirs(dirs, (d: string) =>
    log.error({ dir: d }, `plugin directory ${d} does not exist`),
  ))
    await loadOne(dir);

  const enabled = () => entries.filter((e) => !e.error && e.manifest);

  return {
    status() {
      return entries.map((e) => ({
        name: e.name,
        version: e.manifest?.version ?? null,
        dir: e.dir,
        status: e.error ? 'disabled' : 'enabled',
        findingTypes: e.manifest?.findingTypes.map((t) => t.type) ?? [],
        error: e.error,
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
      return [...byType.entries()].filter(([, e]) => !e.error).map(([t]) => t);
    },
    validateCamera(cam) {
      const issues: InputIssue[] = [];
      const known = [...byType.keys()];
      const where = {
        source: cam.file ?? `camera ${cam.id}`,
        ...(cam.line === undefined ? {} : { line: cam.line }),
      };
      cam.detectors.forEach((d, i) => {
        const e = byType.get(d.rule);
        if (!e) {
          issues.push({
            ...where,
            path: `detectors[${i}].rule`,
            expected: `one of ${known.join(', ') || '(no plugins loaded)'}`,
            found: JSON.stringify(d.rule),
            message: `unknown rule ${JSON.stringify(d.rule)}`,
          });
          return;
        }
        if (!e.schema) return;
        const r = e.schema.safeParse(d.options, { reportInput: true });
        if (r.success) return;
        for (const iss of r.error.issues) {
          const path = [
            `detectors[${i}].options`,
            ...iss.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)),
          ]
            .join('')
            .replace('.options.[', '.options[');
          const input = (iss as { input?: unknown }).input;
          issues.push({
            ...where,
            path,
            expected: 'expected' in iss ? String(iss.expected) : 'valid option',
            found: input === undefined ? 'missing or invalid' : JSON.stringify(input),
            message: iss.message,
          });
        }
      });
      const used = new Set(cam.detectors.map((d) => d.rule));
      cam.zones.forEach((z, j) => {
        z.rules.forEach((r, k) => {
          if (!byType.has(r))
            issues.push({
              ...where,
              path: `zones[${j}].rules[${k}]`,
              expected: `one of ${known.join(', ')}`,
              found: JSON.stringify(r),
              message: `unknown rule ${JSON.stringify(r)}`,
            });
          else if (!used.has(r))
            issues.push({
              ...where,
              path: `zones[${j}].rules[${k}]`,
              expected: `a rule listed under detectors`,
              found: JSON.stringify(r),
              message: `zone lists rule ${r} but the camera does not run it (add it under detectors:)`,
            });
        });
      });
      return issues;
    },
    async createRule(rule, cameraId, options) {
      if (closed) throw new ClosedError('plugin loader');
      const e = byType.get(rule);
      if (!e || e.error || !e.manifest) {
        log.warn(
          { rule, cameraId, reason: e?.error?.message ?? 'no plugin raises it' },
          'rule not available for camera',
        );
        return null;
      }
      const instance = ++e.instances;
      const r = await call(
        e,
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
          if (e.error || disposed) return [];
          const res = await call(
            e,
            { type: 'evaluate', call: nextCall++, instance, input },
            `evaluate for camera ${cameraId}`,
          );
          if (res.type === 'ok') return (res.emissions ?? []).filter((em) => em.type === rule);
          if (!e.error)
            disable(
              e,
              Codes.GW_PLUGIN_FAILED,
              `plugin ${e.name}: evaluate for camera ${cameraId} threw: ${res.type === 'callError' ? res.message : res.type}; plugin disabled`,
            );
          return [];
        },
        async close() {
          if (disposed) return;
          disposed = true;
          if (e.error || closed) return;
          const res = await call(
            e,
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
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(
        entries.map(async (e) => {
          for (const c of e.calls.values()) {
            clearTimeout(c.timer);
            c.resolve({ type: 'callError', call: -1, message: 'plugin loader closed' });
          }
          e.calls.clear();
          const w = e.worker;
          e.worker = null;
          if (w) await w.terminate();
        }),
      );
    },
  };
}
