import type { Worker } from 'node:worker_threads';
import { Codes, ConfigError, GridwatchError, type InputIssue } from '../errors.js';
import type { GridFeatureInput } from '../grid/grid-index.js';
import type { Logger } from '../logger.js';
import { startWorker } from '../util/worker-entry.js';
import type { ParsedCameraEntry } from '../config/camera-file.js';

/** Main thread → worker. */
export type ParseRequest =
  | { kind: 'grids'; codes: string[] }
  | { kind: 'camera'; id: number; file: string }
  | { kind: 'grid'; id: number; file: string };

/** Worker → main thread. */
export type ParseReply =
  | { id: number; type: 'entries'; entries: ParsedCameraEntry[] }
  | { id: number; type: 'done'; fileIssues: InputIssue[] }
  | { id: number; type: 'grid'; features: GridFeatureInput[]; issues: InputIssue[] }
  | { id: number; type: 'failed'; message: string; issues: InputIssue[]; config: boolean };

export interface ConfigParser {
  /**
   * Reads and validates a camera file in the worker; `onEntries` gets its entries a chunk at a
   * time (each chunk in its own event-loop turn). Resolves with the file-level issues.
   */
  cameraFile(file: string, onEntries: (entries: ParsedCameraEntry[]) => void): Promise<InputIssue[]>;
  /** Reads and validates a grid file in the worker; throws ConfigError when it is unusable. */
  gridFile(file: string): Promise<{ features: GridFeatureInput[]; issues: InputIssue[] }>;
  close(): Promise<void>;
}

interface Pending {
  onReply(m: ParseReply): void;
  fail(err: Error): void;
}

/**
 * The main-thread side of the config parse worker. One worker, started on first use and again
 * after it dies (the grid codes camera files are checked against are sent to each new one).
 */
export function createConfigParser(opts: { logger: Logger }): ConfigParser {
  const log = opts.logger.child({ component: 'config-parser' });
  let worker: Worker | null = null;
  let nextId = 1;
  let codes: string[] = [];
  let closed = false;
  const pending = new Map<number, Pending>();

  function ensureWorker(): Worker {
    if (worker) return worker;
    const w = startWorker(import.meta.url, 'config-parse-worker');
    // Parsing must not keep a gateway that is shutting down alive.
    w.unref();
    w.on('message', (m: ParseReply) => pending.get(m.id)?.onReply(m));
    const died = (err: Error) => {
      if (worker !== w) return;
      worker = null;
      if (!closed) log.error({ err }, 'config parse worker died; the next read starts a new one');
      for (const p of pending.values()) p.fail(err);
      pending.clear();
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`config parse worker exited with code ${code}`)));
    if (codes.length) w.postMessage({ kind: 'grids', codes } satisfies ParseRequest);
    worker = w;
    return w;
  }

  function request<T>(
    build: (id: number) => ParseRequest,
    onReply: (m: ParseReply, resolve: (v: T) => void, reject: (e: Error) => void) => void,
  ): Promise<T> {
    if (closed) return Promise.reject(new GridwatchError(Codes.GW_CLOSED, 'config parser is closed'));
    const w = ensureWorker();
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const done = (fn: () => void) => {
        pending.delete(id);
        fn();
      };
      pending.set(id, {
        onReply: (m) =>
          onReply(
            m,
            (v) => done(() => resolve(v)),
            (e) => done(() => reject(e)),
          ),
        fail: (e) => reject(new GridwatchError(Codes.GW_INTERNAL, `config parsing failed: ${e.message}`)),
      });
      w.postMessage(build(id));
    });
  }

  const failure = (m: Extract<ParseReply, { type: 'failed' }>) =>
    m.config ? new ConfigError(m.message, m.issues) : new GridwatchError(Codes.GW_INTERNAL, m.message);

  let closing: Promise<void> | null = null;
  return {
    cameraFile(file, onEntries) {
      return request<InputIssue[]>(
        (id) => ({ kind: 'camera', id, file }),
        (m, resolve, reject) => {
          if (m.type === 'entries') onEntries(m.entries);
          else if (m.type === 'done') resolve(m.fileIssues);
          else if (m.type === 'failed') reject(failure(m));
        },
      );
    },
    gridFile(file) {
      return request<{ features: GridFeatureInput[]; issues: InputIssue[] }>(
        (id) => ({ kind: 'grid', id, file }),
        (m, resolve, reject) => {
          if (m.type === 'grid') {
            codes = m.features.map((f) => f.info.code);
            resolve({ features: m.features, issues: m.issues });
          } else if (m.type === 'failed') reject(failure(m));
        },
      );
    },
    close() {
      closing ??= (async () => {
        closed = true;
        const w = worker;
        worker = null;
        for (const p of pending.values()) p.fail(new Error('config parser closed'));
        pending.clear();
        if (w) await w.terminate();
      })();
      return closing;
    },
  };
}
