import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread from a module next to the caller. Under tsx/vitest the caller is a
 * .ts file and the worker needs the tsx loader; from dist/ it is plain .js.
 * `callerUrl` is the caller's import.meta.url, `file` the worker module's name without extension.
 */
export function startWorker(callerUrl: string, file: string, opts: WorkerOptions = {}): Worker {
  const ts = callerUrl.endsWith('.ts');
  const url = new URL(`./${file}${ts ? '.ts' : '.js'}`, callerUrl);
  const execArgv = ts ? [...(opts.execArgv ?? []), '--import', 'tsx'] : opts.execArgv;
  return new Worker(fileURLToPath(url), { ...opts, ...(execArgv ? { execArgv } : {}) });
}
