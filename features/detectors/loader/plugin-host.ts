import type { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { Codes, type ErrorCode } from '../../../core/errors.js';
import { startWorker } from '../../../core/util/worker-entry.js';
import type { HostMessage, PluginReply } from './plugin-protocol.js';

export interface PluginError {
  code: string;
  message: string;
  at: number;
}

/** Host of one rule plugin's sandbox thread: start, calls with a deadline, disable. */
export interface PluginHost {
  readonly name: string;
  /** Set once the plugin is disabled; every later call answers callError at once. */
  readonly error: PluginError | null;
  /** Starts the thread and imports the entry there; resolves with the worker's answer. */
  load(): Promise<Extract<PluginReply, { type: 'loaded' | 'loadError' }>>;
  /** One call; a reply later than timeoutMs disables the plugin (its thread is terminated). */
  call(msg: HostMessage & { call: number }, what: string): Promise<PluginReply>;
  disable(code: ErrorCode, message: string): void;
  close(): Promise<void>;
}

export interface PluginHostOptions {
  name: string;
  dir: string;
  entryPath: string;
  timeoutMs: number;
  loadTimeoutMs: number;
  logger: Logger;
  /** Called once when the plugin is disabled (metrics, logs). */
  onDisable: (code: ErrorCode, message: string) => void;
  /** Log lines of the plugin, serialised by its thread. */
  onLog: (line: string) => void;
}

/**
 * A plugin runs in its own worker thread, so a call that never returns (even a synchronous
 * infinite loop) is cut off by terminating the thread, and a crash takes only this plugin down.
 */
export function createPluginHost(o: PluginHostOptions): PluginHost {
  let error: PluginError | null = null;
  let worker: Worker | null = null;
  let closing: Promise<void> | null = null;
  const calls = new Map<number, { resolve: (r: PluginReply) => void; timer: NodeJS.Timeout }>();

  function settleCalls(message: string): void {
    for (const c of calls.values()) {
      clearTimeout(c.timer);
      c.resolve({ type: 'callError', call: -1, message });
    }
    calls.clear();
  }

  function disable(code: ErrorCode, message: string): void {
    if (error) return;
    error = { code, message, at: Date.now() };
    o.onDisable(code, message);
    const w = worker;
    worker = null;
    settleCalls(message);
    if (w) void w.terminate();
  }

  return {
    name: o.name,
    get error() {
      return error;
    },
    disable,
    load() {
      const w = startWorker(import.meta.url, 'plugin-worker', { name: `plugin:${o.name}` });
      worker = w;
      const loaded = new Promise<Extract<PluginReply, { type: 'loaded' | 'loadError' }>>((res) => {
        const timer = setTimeout(
          () =>
            res({
              type: 'loadError',
              message: `import did not finish within ${o.loadTimeoutMs} ms (pluginLoadTimeoutMs)`,
            }),
          o.loadTimeoutMs,
        );
        w.on('message', (r: PluginReply) => {
          if (r.type === 'log') return o.onLog(r.line);
          if (r.type === 'loaded' || r.type === 'loadError') {
            clearTimeout(timer);
            res(r);
            return;
          }
          const c = calls.get(r.call);
          if (!c) return;
          clearTimeout(c.timer);
          calls.delete(r.call);
          c.resolve(r);
        });
        w.on('error', (err) => {
          clearTimeout(timer);
          res({ type: 'loadError', message: err.message });
          disable(Codes.GW_PLUGIN_CRASHED, `plugin ${o.name}: its thread crashed: ${err.message}`);
        });
        w.on('exit', (code) => {
          clearTimeout(timer);
          res({ type: 'loadError', message: `thread exited with code ${code}` });
          if (worker === w && !closing)
            disable(Codes.GW_PLUGIN_CRASHED, `plugin ${o.name}: its thread exited (code ${code})`);
        });
      });
      w.postMessage({
        type: 'load',
        entryUrl: pathToFileURL(o.entryPath).href,
        name: o.name,
        logLevel: o.logger.level,
      } satisfies HostMessage);
      return loaded;
    },
    call(msg, what) {
      return new Promise((res) => {
        const w = worker;
        if (!w || error) {
          res({ type: 'callError', call: msg.call, message: error?.message ?? 'plugin not running' });
          return;
        }
        const timer = setTimeout(() => {
          disable(
            Codes.GW_PLUGIN_TIMEOUT,
            `plugin ${o.name}: ${what} did not return within ${o.timeoutMs} ms (pluginTimeoutMs); plugin disabled`,
          );
        }, o.timeoutMs);
        calls.set(msg.call, { resolve: res, timer });
        try {
          w.postMessage(msg);
        } catch (err) {
          clearTimeout(timer);
          calls.delete(msg.call);
          res({
            type: 'callError',
            call: msg.call,
            message: `cannot send to plugin: ${err instanceof Error ? err.message : String(err)}`,
          });
        }
      });
    },
    close() {
      closing ??= (async () => {
        settleCalls('plugin loader closed');
        const w = worker;
        worker = null;
        if (w) await w.terminate();
      })();
      return closing;
    },
  };
}
