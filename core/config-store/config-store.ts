import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RejectedEntry } from '../contracts/camera-directory.js';
import type { GridIndex } from '../contracts/grid-index.js';
import type { LoadedCamera } from '../contracts/loaded-camera.js';
import { Codes, ClosedError, ConfigError, GridwatchError, formatIssue, type InputIssue } from '../errors.js';
import type { Logger } from '../logger.js';
import { buildGridIndex } from '../grid/grid-index.js';
import {
  finishCameraEntry,
  type CameraEntryResult,
  type CameraFileResult,
  type ValidateCamera,
} from '../config/camera-file.js';
import { createConfigParser, type ConfigParser } from './config-parser.js';
import { LIMITS } from '../config/read-config-text.js';
import type { Locate } from '../config/zod-issues.js';

/**
 * What the store needs from the root config file (gateway.yaml), already loaded by the
 * composition layer: the store itself never reads that file, so it does not depend on the
 * schema that assembles every feature's config.
 */
export interface ConfigRoot {
  /** The root file, for error messages. */
  file: string;
  /** Its folder: relative paths in camera files resolve against it. */
  baseDir: string;
  /** Absolute camera directories. */
  cameraDirs: string[];
  /** Absolute grid GeoJSON file. */
  gridFile: string;
  /** Grid codes named in the root file, each checked against the grid file at load. */
  gridCodeRefs: Array<{ path: Array<string | number>; code: string; what: string }>;
  locate: Locate;
}

export interface ConfigStoreOptions {
  /** Returns the root config; called once by load(). */
  root: () => Promise<ConfigRoot> | ConfigRoot;
  logger: Logger;
  metrics: Registry;
  /** Watch camera dirs and the grid file and apply edits (hot reload). */
  watch: boolean;
  /** Extra checks on a schema-valid camera (rule names, rule options); paths relative to the camera. */
  validateCamera?: ValidateCamera;
  /** fs.watch events are coalesced for this long. */
  debounceMs?: number;
  /** Periodic stat scan, because fs.watch misses some editors' rename-over-save. */
  pollIntervalMs?: number;
  /** Use fs.watch as well as the periodic scan (default true; false on file systems without inotify). */
  fsWatch?: boolean;
  /**
   * The worker that reads and parses files. Default: the store's own, closed with it. One
   * given here is shared (e.g. by the stores of one test file) and closed by its owner.
   */
  parser?: ConfigParser;
}

export interface ConfigStoreEvents {
  cameras: (cameras: LoadedCamera[]) => void;
  grids: (grids: GridIndex) => void;
  error: (err: Error) => void;
}

export interface ConfigStore {
  load(): Promise<void>;
  readonly baseDir: string;
  cameras(): LoadedCamera[];
  rejected(): RejectedEntry[];
  grids(): GridIndex;
  /** Every current problem (camera files and grid file), for health and the admin view. */
  issues(): InputIssue[];
  /** Rescan now (what the watcher does); resolves when applied. */
  reload(): Promise<void>;
  on<E extends keyof ConfigStoreEvents>(event: E, cb: ConfigStoreEvents[E]): () => void;
  close(): Promise<void>;
}

interface FileState {
  file: string;
  mtimeMs: number;
  size: number;
  ino: number;
  /** Last accepted version of each camera in this file, kept when a later edit breaks it. */
  good: Map<string, LoadedCamera>;
  /** Cameras this file contributes now (accepted or kept last good), in file order. */
  active: LoadedCamera[];
  rejected: RejectedEntry[];
  issues: InputIssue[];
}

type Stamp = { mtimeMs: number; size: number; ino: number };

const notLoaded = () => new GridwatchError(Codes.GW_CONFIG_NOT_LOADED, 'config store: call load() first');

export function createConfigStore(opts: ConfigStoreOptions): ConfigStore {
  const log = opts.logger.child({ component: 'config' });
  // Files are read and parsed in a worker thread; only plugin checks and grid lookups run here.
  const parser = opts.parser ?? createConfigParser({ logger: opts.logger });
  const ownParser = opts.parser === undefined;
  const debounceMs = opts.debounceMs ?? 300;
  const pollIntervalMs = opts.pollIntervalMs ?? 5_000;
  const accepted = new Gauge({
    name: 'gridwatch_config_cameras_accepted',
    help: 'Camera entries in use',
    registers: [opts.metrics],
  });
  const rejectedG = new Gauge({
    name: 'gridwatch_config_cameras_rejected',
    help: 'Camera entries rejected by validation',
    registers: [opts.metrics],
  });
  const reloads = new Counter({
    name: 'gridwatch_config_reloads_total',
    help: 'Config reloads by outcome (ok: applied, error: some file kept its last good state)',
    labelNames: ['result'],
    registers: [opts.metrics],
  });
  const gridFeatures = new Gauge({
    name: 'gridwatch_grid_features',
    help: 'Grid features with a polygon',
    registers: [opts.metrics],
  });

  const listeners: { [E in keyof ConfigStoreEvents]: Set<ConfigStoreEvents[E]> } = {
    cameras: new Set(),
    grids: new Set(),
    error: new Set(),
  };
  const emit = <E extends keyof ConfigStoreEvents>(event: E, ...args: Parameters<ConfigStoreEvents[E]>) => {
    for (const cb of listeners[event]) {
      try {
        (cb as (...a: Parameters<ConfigStoreEvents[E]>) => void)(...args);
      } catch (err) {
        log.error({ err, event }, 'config listener threw');
      }
    }
  };

  let root: ConfigRoot | undefined;
  let baseDir = '';
  let grid: GridIndex | undefined;
  let gridStamp: Stamp | undefined;
  let gridIssues: InputIssue[] = [];
  let gridFatal: InputIssue[] = [];
  const files = new Map<string, FileState>();
  let dirIssues: InputIssue[] = [];
  let current: LoadedCamera[] = [];
  let dupRejected: RejectedEntry[] = [];
  let dupIssues: InputIssue[] = [];
  let currentKey = '';
  let closed = false;
  let closing: Promise<void> | null = null;
  let loaded = false;
  const watchers: FSWatcher[] = [];
  let debounce: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let pending = false;

  const stampOf = async (file: string): Promise<Stamp | undefined> => {
    try {
      const s = await stat(file);
      return { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino };
    } catch {
      return undefined;
    }
  };
  // Two "missing" stamps are the same: a deleted grid file is reported once, not every scan.
  const sameStamp = (a: Stamp | undefined, b: Stamp | undefined) =>
    a === undefined || b === undefined
      ? a === b
      : a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;

  async function listCameraFiles(strict: boolean): Promise<string[]> {
    const out: string[] = [];
    const issues: InputIssue[] = [];
    for (const dir of root!.cameraDirs) {
      try {
        const names = await readdir(dir);
        for (const n of names.sort()) if (/\.ya?ml$/i.test(n) && !n.startsWith('.')) out.push(join(dir, n));
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        issues.push({
          source: dir,
          path: 'cameras.dirs',
          expected: 'a readable directory of camera YAML files',
          found: code === 'ENOENT' ? 'no such directory' : String(code),
          message: `camera directory ${dir} cannot be read`,
        });
      }
    }
    if (strict && issues.length) throw new ConfigError('camera directories are missing', issues);
    // Logged when the set of unreadable directories changes, not on every periodic scan.
    if (JSON.stringify(issues) !== JSON.stringify(dirIssues)) {
      for (const i of issues) log.error({ dir: i.source }, formatIssue(i));
    }
    dirIssues = issues;
    return out;
  }

  function applyFileResult(prev: FileState | undefined, r: CameraFileResult, st: Stamp): FileState {
    const good = new Map<string, LoadedCamera>();
    const active: LoadedCamera[] = [];
    const rejected: RejectedEntry[] = [];
    const issues: InputIssue[] = [...r.fileIssues];
    if (r.fileIssues.length) {
      // The file as a whole is unusable: keep everything it contributed before.
      const kept = prev ? [...prev.good.values()] : [];
      rejected.push({
        file: r.file,
        cameraId: null,
        errors: [
          ...r.fileIssues.map(formatIssue),
          ...(kept.length
            ? [`keeping the last good version of ${kept.length} camera(s) from this file`]
            : []),
        ],
      });
      for (const c of kept) good.set(c.id, c);
      return { file: r.file, ...st, good, active: kept, rejected, issues };
    }
    for (const e of r.entries) {
      if (e.camera) {
        if (good.has(e.camera.id)) {
          const first = good.get(e.camera.id)!;
          const issue: InputIssue = {
            source: r.file,
            line: e.line,
            path: `cameras[${e.index}].id`,
            expected: 'a camera id unique across all camera files',
            found: e.camera.id,
            message: `duplicate camera id ${e.camera.id}: already defined at ${first.file}:${first.line}`,
          };
          issues.push(issue);
          rejected.push({ file: r.file, cameraId: e.camera.id, errors: [formatIssue(issue)] });
          continue;
        }
        good.set(e.camera.id, e.camera);
        active.push(e.camera);
        continue;
      }
      issues.push(...e.issues);
      const errors = e.issues.map(formatIssue);
      const old = e.id === null ? undefined : prev?.good.get(e.id);
      if (old && !good.has(old.id)) {
        errors.push(`keeping the last good version of ${old.id} (from line ${old.line})`);
        good.set(old.id, old);
        active.push(old);
      }
      rejected.push({ file: r.file, cameraId: e.id, errors });
    }
    return { file: r.file, ...st, good, active, rejected, issues };
  }

  /**
   * One warn line per rejected entry, for the first few entries of a file, each cut to
   * LIMITS.logLineChars; the rest in one summary line (the admin view lists them all).
   */
  function logRejected(file: string, list: RejectedEntry[]): void {
    const shown = list.slice(0, LIMITS.loggedEntriesPerFile);
    for (const rej of shown) {
      let text = `camera entry rejected:\n${rej.errors.join('\n')}`;
      if (text.length > LIMITS.logLineChars)
        text = `${text.slice(0, LIMITS.logLineChars)}… (${text.length - LIMITS.logLineChars} more characters)`;
      log.warn({ file: rej.file, cameraId: rej.cameraId }, text);
    }
    if (list.length > shown.length)
      log.warn(
        { file, more: list.length - shown.length },
        `${list.length - shown.length} more rejected camera entries in this file not logged (see /api/v1/admin/rejected-cameras)`,
      );
  }

  /** Cross-file duplicate ids: the first in load order (dir order, then file name) wins. */
  function recompute(): boolean {
    const seen = new Map<string, LoadedCamera>();
    const list: LoadedCamera[] = [];
    dupRejected = [];
    dupIssues = [];
    for (const fs of files.values()) {
      for (const c of fs.active) {
        const first = seen.get(c.id);
        if (first) {
          const issue: InputIssue = {
            source: c.file,
            line: c.line,
            path: 'id',
            expected: 'a camera id unique across all camera files',
            found: c.id,
            message: `duplicate camera id ${c.id}: already defined at ${first.file}:${first.line}`,
          };
          dupIssues.push(issue);
          dupRejected.push({ file: c.file, cameraId: c.id, errors: [formatIssue(issue)] });
          continue;
        }
        seen.set(c.id, c);
        list.push(c);
      }
    }
    accepted.set(list.length);
    rejectedG.set(rejected().length);
    const key = JSON.stringify(list);
    const changed = key !== currentKey;
    current = list;
    currentKey = key;
    return changed;
  }

  function rejected(): RejectedEntry[] {
    const out: RejectedEntry[] = [];
    for (const i of dirIssues) out.push({ file: i.source, cameraId: null, errors: [formatIssue(i)] });
    for (const fs of files.values()) out.push(...fs.rejected);
    out.push(...dupRejected);
    return out;
  }

  async function loadGrid(strict: boolean): Promise<'same' | 'loaded' | 'failed'> {
    const file = root!.gridFile;
    const st = await stampOf(file);
    if (!strict && grid && sameStamp(st, gridStamp)) return 'same';
    try {
      const t0 = performance.now();
      const parsed = await parser.gridFile(file);
      const r = {
        index: buildGridIndex(parsed.features),
        issues: parsed.issues,
        features: parsed.features.length,
      };
      grid = r.index;
      gridStamp = st;
      gridIssues = r.issues;
      gridFatal = [];
      gridFeatures.set(r.index.size);
      log.info(
        { file, features: r.features, ms: Math.round(performance.now() - t0), issues: r.issues.length },
        'grid file loaded',
      );
      for (const i of r.issues.slice(0, 50)) log.warn(formatIssue(i));
      if (r.issues.length > 50) log.warn({ more: r.issues.length - 50 }, 'more grid file issues not logged');
      return 'loaded';
    } catch (err) {
      if (strict || !grid) throw err;
      // A broken grid edit keeps the last good index.
      gridStamp = st;
      gridFatal = err instanceof ConfigError ? err.issues : [];
      log.error({ err }, 'grid file reload failed; keeping the last good grid index');
      emit('error', err as Error);
      return 'failed';
    }
  }

  /** Re-reads new and changed files; returns how many were read or dropped and how many had issues. */
  async function scanCameras(
    force: boolean,
    strict: boolean,
  ): Promise<{ touched: number; withIssues: number }> {
    const list = await listCameraFiles(strict);
    const present = new Set(list);
    let touched = 0;
    let withIssues = 0;
    for (const f of [...files.keys()]) {
      if (!present.has(f)) {
        touched++;
        log.info(
          { file: f, cameras: files.get(f)!.active.length },
          'camera file removed; its cameras are dropped',
        );
        files.delete(f);
      }
    }
    const next = new Map<string, FileState>();
    for (const f of list) {
      const prev = files.get(f);
      const st = await stampOf(f);
      if (!st) continue;
      if (!force && prev && sameStamp(prev, st)) {
        next.set(f, prev);
        continue;
      }
      const entries: CameraEntryResult[] = [];
      const g = grid!;
      const fileIssues = await parser.cameraFile(f, (chunk) => {
        for (const e of chunk) entries.push(finishCameraEntry(f, e, g, opts.validateCamera));
      });
      const r: CameraFileResult = { file: f, fileIssues, entries };
      const state = applyFileResult(prev, r, st);
      touched++;
      if (state.issues.length) withIssues++;
      logRejected(f, state.rejected);
      next.set(f, state);
    }
    files.clear();
    for (const [k, v] of next) files.set(k, v);
    return { touched, withIssues };
  }

  async function doReload(): Promise<void> {
    if (closed || !loaded) return;
    try {
      const g = await loadGrid(false);
      if (g === 'loaded') emit('grids', grid!);
      // A new grid index changes which grid codes exist: every file is checked again.
      const scan = await scanCameras(g === 'loaded', false);
      const changed = recompute();
      if (g !== 'same' || scan.touched > 0) {
        reloads.inc({ result: g === 'failed' || scan.withIssues > 0 ? 'error' : 'ok' });
      }
      if (changed) {
        log.info({ cameras: current.length, rejected: rejected().length }, 'camera config reloaded');
        emit('cameras', [...current]);
      }
    } catch (err) {
      reloads.inc({ result: 'error' });
      log.error({ err }, 'config reload failed');
      emit('error', err as Error);
    }
  }

  function reload(): Promise<void> {
    if (closed) return Promise.reject(new ClosedError('config store'));
    // Coalesce: at most one reload queued behind the running one.
    if (pending) return chain;
    pending = true;
    chain = chain.then(() => {
      pending = false;
      return doReload();
    });
    return chain;
  }

  function schedule(): void {
    if (closed) return;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      reload().catch((err: unknown) => log.error({ err }, 'scheduled reload failed'));
    }, debounceMs);
    debounce.unref();
  }

  function startWatching(): void {
    const gridFile = root!.gridFile;
    const targets = new Map<string, ((name: string | null) => boolean) | null>();
    for (const d of root!.cameraDirs) targets.set(d, null);
    const gridDir = dirname(gridFile);
    const gridName = basename(gridFile);
    const prevFilter = targets.get(gridDir);
    if (prevFilter === undefined) targets.set(gridDir, (n) => n === null || n === gridName);
    for (const [dir, filter] of targets) {
      if (opts.fsWatch === false) break;
      try {
        const w = fsWatch(dir, { persistent: false }, (_event, name) => {
          if (!filter || filter(name === null ? null : String(name))) schedule();
        });
        w.on('error', (err) =>
          log.warn({ err, dir }, 'fs.watch failed; the periodic scan still picks up edits'),
        );
        watchers.push(w);
      } catch (err) {
        log.warn({ err, dir }, 'cannot watch directory; relying on the periodic scan');
      }
    }
    poll = setInterval(() => schedule(), pollIntervalMs);
    poll.unref();
  }

  const store: ConfigStore = {
    async load() {
      if (closed) throw new ClosedError('config store');
      if (loaded) return;
      const r = await opts.root();
      root = r;
      baseDir = r.baseDir;
      await loadGrid(true);
      // Codes in the root file must exist in the grid file.
      const codeIssues: InputIssue[] = [];
      for (const ref of r.gridCodeRefs) {
        if (grid!.get(ref.code)) continue;
        codeIssues.push({
          source: r.file,
          ...r.locate(ref.path),
          path: ref.path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join(''),
          expected: 'a code in the grid file',
          found: ref.code,
          message: `${ref.what} ${ref.code} is not in the grid file`,
        });
      }
      if (codeIssues.length) throw new ConfigError(`gateway config ${r.file} has errors`, codeIssues);
      await scanCameras(true, true);
      recompute();
      loaded = true;
      log.info({ cameras: current.length, rejected: rejected().length, grids: grid!.size }, 'config loaded');
      if (opts.watch) startWatching();
    },
    get baseDir() {
      return baseDir;
    },
    cameras: () => [...current],
    rejected,
    grids() {
      if (!grid) throw notLoaded();
      return grid;
    },
    issues() {
      const out = [...dirIssues, ...gridFatal, ...gridIssues];
      for (const fs of files.values()) out.push(...fs.issues);
      out.push(...dupIssues);
      return out;
    },
    reload,
    on(event, cb) {
      listeners[event].add(cb);
      return () => listeners[event].delete(cb);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        if (debounce) clearTimeout(debounce);
        if (poll) clearInterval(poll);
        for (const w of watchers.splice(0)) w.close();
        await chain;
        if (ownParser) await parser.close();
        for (const s of Object.values(listeners)) s.clear();
      })();
      return closing;
    },
  };
  return store;
}
