import { Worker, type WorkerOptions } from 'node:worker_threads';
import { startWorker } from '../../gateway/util/worker-entry.js';

/**
 * Starts a worker module next to the caller. From dist (.js) this is gateway/util's
 * startWorker. Under tsx/vitest (.ts) that helper passes `--import tsx` in the worker's
 * execArgv, which Node 20.20 ignores for workers (checked here: "Unknown file extension .ts"),
 * so the worker instead starts from a tiny bootstrap that registers tsx's ESM hooks in the
 * worker and then imports the module.
 */
export function spawnWorker(callerUrl: string, file: string, opts: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return startWorker(callerUrl, file, opts);
  const target = new URL(`./${file}.ts`, callerUrl).href;
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(boot, { ...opts, eval: true });
}
