import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread from a module next to the caller. From dist/ the module is plain .js.
 * Under tsx/vitest the caller is a .ts file; Node 20 ignores `--import tsx` in a worker's
 * execArgv ("Unknown file extension .ts"), so the worker starts from a tiny bootstrap that
 * registers tsx's ESM hooks inside the worker and then imports the module.
 * `callerUrl` is the caller's import.meta.url, `file` the worker module's name without extension.
 */
export function startWorker(callerUrl: string, file: string, opts: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(fileURLToPath(new URL(`./${file}.js`, callerUrl)), opts);
  const target = new URL(`./${file}.ts`, callerUrl).href;
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(boot, { ...opts, eval: true });
}
