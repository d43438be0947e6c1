import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EvidenceStore } from '../contracts/evidence-store.js';
import { Codes, GridwatchError } from '../errors.js';

const NAME = /^[A-Za-z0-9_.:-]{1,150}$/;
/** How long a probe result stands before readiness writes a new probe file. */
const PROBE_TTL_MS = 5_000;

/** Date folder in the gateway's time zone, so an operator's "today" matches the folder. */
function dayFolder(at: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

export interface FsEvidenceStoreOptions {
  dir: string;
  timeZone?: string;
  /** Registers gridwatch_evidence_writable and gridwatch_evidence_write_failures_total. */
  metrics?: Registry;
  clock?: () => number;
}

export interface EvidenceWriteHealth {
  /** False from a failed write (or probe) until the next one that succeeds. */
  writable: boolean;
  /** errno code of the last failure (EACCES, ENOSPC, ENOTDIR, …), never a path. */
  lastError: string | null;
  lastErrorAt: number | null;
  failures: number;
}

export interface FsEvidenceStore extends EvidenceStore {
  readonly dir: string;
  /** Write health as last seen by put(), without touching the disk. */
  health(): EvidenceWriteHealth;
  /**
   * Readiness check: writes and removes a probe file (at most once per 5 s), so an unwritable
   * store is noticed before the next finding needs it. Never throws.
   */
  check(): Promise<{ ok: boolean; detail: string }>;
}

function errnoOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'error';
}

/** Evidence JPEGs under <dir>/YYYY-MM-DD/. Writes are atomic (temp file + rename). */
export function createEvidenceStore(opts: FsEvidenceStoreOptions): FsEvidenceStore {
  const root = resolve(opts.dir);
  const tz = opts.timeZone ?? 'Asia/Shanghai';
  const clock = opts.clock ?? Date.now;
  const state: EvidenceWriteHealth = { writable: true, lastError: null, lastErrorAt: null, failures: 0 };
  let probedAt = -Infinity;
  let probing: Promise<void> | null = null;

  const failures = opts.metrics
    ? new Counter({
        name: 'gridwatch_evidence_write_failures_total',
        help: 'Evidence writes (and readiness probes) that failed, by errno code',
        labelNames: ['code'] as const,
        registers: [opts.metrics],
      })
    : null;
  if (opts.metrics) {
    new Gauge({
      name: 'gridwatch_evidence_writable',
      help: '1 when the last evidence write or probe succeeded, 0 when it failed',
      registers: [opts.metrics],
      collect() {
        this.set(state.writable ? 1 : 0);
      },
    });
  }
  const failed = (err: unknown) => {
    const code = errnoOf(err);
    state.writable = false;
    state.lastError = code;
    state.lastErrorAt = clock();
    state.failures += 1;
    failures?.inc({ code });
  };
  const succeeded = () => {
    state.writable = true;
  };

  async function probe(): Promise<void> {
    const file = join(root, `.probe-${process.pid}`);
    try {
      await mkdir(root, { recursive: true });
      await writeFile(file, 'probe');
      await rm(file, { force: true });
      succeeded();
    } catch (err) {
      failed(err);
    }
  }

  const store: FsEvidenceStore = {
    dir: root,
    async put(name: string, jpeg: Uint8Array, at = clock()): Promise<string> {
      const safe = name.replace(/:/g, '_');
      if (!NAME.test(safe))
        throw new GridwatchError(Codes.GW_EVIDENCE_NAME, `bad evidence name ${JSON.stringify(name)}`);
      const rel = `${dayFolder(at, tz)}/${safe}.jpg`;
      const abs = join(root, rel);
      try {
        await mkdir(dirname(abs), { recursive: true });
        const tmp = `${abs}.${process.pid}.tmp`;
        await writeFile(tmp, jpeg);
        await rename(tmp, abs);
      } catch (err) {
        failed(err);
        throw err;
      }
      succeeded();
      return rel;
    },
    resolve(relPath: string): string {
      if (isAbsolute(relPath) || !/^\d{4}-\d{2}-\d{2}\/[A-Za-z0-9_.-]+\.jpg$/.test(relPath)) {
        throw new GridwatchError(Codes.GW_EVIDENCE_PATH, 'bad evidence path');
      }
      const abs = normalize(join(root, relPath));
      if (!abs.startsWith(root + sep)) throw new GridwatchError(Codes.GW_EVIDENCE_PATH, 'bad evidence path');
      return abs;
    },
    async read(relPath: string): Promise<Buffer> {
      try {
        return await readFile(store.resolve(relPath));
      } catch (err) {
        if (err instanceof GridwatchError) throw err;
        // Retention removed it (the normal case for alerts older than evidenceDays): a 404
        // with its own code, and no absolute path in the message.
        if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR')
          throw new GridwatchError(Codes.GW_EVIDENCE_EXPIRED, `evidence ${relPath} is no longer kept`, {
            details: { evidence: relPath },
          });
        throw new GridwatchError(Codes.GW_INTERNAL, `evidence ${relPath} cannot be read (${errnoOf(err)})`);
      }
    },
    health: () => ({ ...state }),
    async check() {
      if (clock() - probedAt >= PROBE_TTL_MS) {
        probing ??= probe().finally(() => {
          probedAt = clock();
          probing = null;
        });
        await probing;
      }
      return state.writable
        ? { ok: true, detail: 'evidence store writable' }
        : {
            ok: false,
            detail: `evidence store not writable (${state.lastError ?? 'error'}): alerts are raised without evidence images`,
          };
    },
  };
  return store;
}
