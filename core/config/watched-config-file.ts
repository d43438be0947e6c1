import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { z } from 'zod';
import { ConfigError, formatIssue, type InputIssue } from '../errors.js';
import type { Logger } from '../logger.js';
import { LIMITS, readConfigText } from './read-config-text.js';
import { parseYamlConfig } from './yaml-config.js';
import { zodToInputIssues } from './zod-issues.js';

/**
 * One small YAML config file besides gateway.yaml (sources.yaml, departments.yaml), validated
 * with its zod schema (issues name file, line and field) and hot-reloaded: fs.watch on its
 * folder plus a stat check at most every `pollMs` when `current()` is read, because fs.watch
 * misses some editors' rename-over-save. A broken edit keeps the last good version (logged,
 * listed by `issues()`); the first load must succeed.
 */
export interface WatchedConfigFile<T> {
  load(): Promise<T>;
  /** The last good value (after load()). */
  current(): T;
  /** Re-reads now when the file changed; resolves with the value in use. */
  refresh(): Promise<T>;
  issues(): InputIssue[];
  onChange(cb: (value: T) => void): () => void;
  close(): Promise<void>;
}

export function createWatchedConfigFile<S extends z.ZodType>(o: {
  file: string;
  schema: S;
  /** Checks beyond the schema (cross-references); issues returned here reject the edit. */
  check?: (
    value: z.infer<S>,
    locate: (path: (string | number)[]) => { line?: number; column?: number },
  ) => InputIssue[];
  logger: Logger;
  watch?: boolean;
  pollMs?: number;
}): WatchedConfigFile<z.infer<S>> {
  type T = z.infer<S>;
  const log = o.logger.child({ component: 'config-file', file: basename(o.file) });
  const pollMs = o.pollMs ?? 2_000;
  let value: T | undefined;
  let stamp = '';
  let issues: InputIssue[] = [];
  let checkedAt = -Infinity;
  let reading: Promise<T> | null = null;
  let watcher: FSWatcher | null = null;
  let closing: Promise<void> | null = null;
  const listeners = new Set<(v: T) => void>();

  async function read(): Promise<{ value: T } | { issues: InputIssue[] }> {
    const t = await readConfigText(o.file, LIMITS.yamlBytes);
    if (!t.ok) return { issues: [t.issue] };
    const doc = parseYamlConfig(o.file, t.text);
    if (doc.issues.length) return { issues: doc.issues };
    const r = o.schema.safeParse(doc.data ?? {});
    if (!r.success) return { issues: zodToInputIssues(o.file, r.error, doc.locate, [], doc.data) };
    const extra = o.check?.(r.data as T, (path) => doc.locate(path)) ?? [];
    if (extra.length) return { issues: extra };
    return { value: r.data as T };
  }

  async function stampOf(): Promise<string> {
    try {
      const s = await stat(o.file);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  }

  async function reload(first: boolean): Promise<T> {
    const st = await stampOf();
    if (!first && st === stamp) return value as T;
    let r: Awaited<ReturnType<typeof read>>;
    try {
      r = await read();
    } catch (err) {
      const e = err instanceof ConfigError ? err : null;
      r = {
        issues: e?.issues?.length
          ? e.issues
          : [
              {
                source: o.file,
                path: '',
                expected: 'a readable YAML file',
                found: (err as NodeJS.ErrnoException).code ?? 'unreadable',
                message: `${basename(o.file)} cannot be read`,
              },
            ],
      };
    }
    stamp = st;
    if ('issues' in r) {
      issues = r.issues;
      if (first) throw new ConfigError(`${o.file} is invalid`, r.issues);
      for (const i of r.issues) log.error(formatIssue(i));
      log.error('edit rejected; the last good version stays in use');
      return value as T;
    }
    issues = [];
    value = r.value;
    if (!first) {
      log.info('reloaded');
      for (const cb of listeners) {
        try {
          cb(r.value);
        } catch (err) {
          log.error({ err }, 'config listener threw');
        }
      }
    }
    return r.value;
  }

  const refresh = (): Promise<T> => {
    checkedAt = Date.now();
    reading ??= reload(false).finally(() => {
      reading = null;
    });
    return reading;
  };

  return {
    async load() {
      const v = await reload(true);
      if (o.watch !== false) {
        try {
          watcher = fsWatch(dirname(o.file), (_e, name) => {
            if (name === null || name === basename(o.file)) void refresh();
          });
          watcher.on('error', () => undefined);
        } catch {
          // No inotify: the stat check in current() still picks edits up.
        }
      }
      checkedAt = Date.now();
      return v;
    },
    current() {
      if (value === undefined) throw new ConfigError(`${o.file}: call load() first`, []);
      if (Date.now() - checkedAt >= pollMs) void refresh();
      return value;
    },
    refresh,
    issues: () => [...issues],
    onChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    close() {
      closing ??= (async () => {
        watcher?.close();
        await reading?.catch(() => undefined);
      })();
      return closing;
    },
  };
}
