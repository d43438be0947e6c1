import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EvidenceStore } from '../contracts/evidence-store.js';
import { Codes, GridwatchError } from '../errors.js';
import type { BlobStore } from './blob-store.js';
import { createDirBlobStore } from './dir-blob-store.js';

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
  /** Directory of the default store; ignored when `blobs` is given. */
  dir: string;
  /** Where the bytes go (a shared directory, Redis); default a directory store over `dir`. */
  blobs?: BlobStore;
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

export interface ManagedEvidenceStore extends EvidenceStore {
  /** The directory of a directory store (retention sweeps it); null when the bytes are in Redis. */
  readonly dir: string | null;
  readonly blobs: BlobStore;
  /** Write health as last seen by put(), without touching the disk. */
  health(): EvidenceWriteHealth;
  /**
   * Readiness check: writes and removes a probe file (at most once per 5 s), so an unwritable
   * store is noticed before the next finding needs it. Never throws.
   */
  check(): Promise<{ ok: boolean; detail: string }>;
  /** Closes the blob store (its Redis connection). */
  close(): Promise<void>;
}

/** The directory-backed store (the default): its files can be named. */
export interface FsEvidenceStore extends ManagedEvidenceStore {
  readonly dir: string;
  /** Absolute path of a stored file; throws GW_EVIDENCE_PATH on anything that escapes the store. */
  resolve(relPath: string): string;
}

function errnoOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'error';
}

/**
 * Evidence JPEGs keyed YYYY-MM-DD/<name>.jpg in a blob store (default: files under <dir>).
 * Writes are atomic in every backend, so a wall on another node never reads half an image.
 */
export function createEvidenceStore(opts: Omit<FsEvidenceStoreOptions, 'blobs'>): FsEvidenceStore;
export function createEvidenceStore(opts: FsEvidenceStoreOptions): ManagedEvidenceStore;
export function createEvidenceStore(opts: FsEvidenceStoreOptions): ManagedEvidenceStore {
  const dirStore = opts.blobs ? null : createDirBlobStore({ dir: opts.dir });
  const blobs: BlobStore = opts.blobs ?? dirStore!;
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
    const key = `probe/p${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await blobs.put(key, Buffer.from('probe'));
      await blobs.delete(key);
      succeeded();
    } catch (err) {
      failed(err);
    }
  }

  const store: ManagedEvidenceStore = {
    dir: dirStore ? dirStore.dir : null,
    blobs,
    async put(name: string, jpeg: Uint8Array, at = clock()): Promise<string> {
      const safe = name.replace(/:/g, '_');
      if (!NAME.test(safe))
        throw new GridwatchError(Codes.GW_EVIDENCE_NAME, `bad evidence name ${JSON.stringify(name)}`);
      const rel = `${dayFolder(at, tz)}/${safe}.jpg`;
      try {
        await blobs.put(rel, jpeg);
      } catch (err) {
        failed(err);
        throw err;
      }
      succeeded();
      return rel;
    },
    async read(relPath: string): Promise<Buffer> {
      if (!/^\d{4}-\d{2}-\d{2}\/[A-Za-z0-9_.-]+\.jpg$/.test(relPath))
        throw new GridwatchError(Codes.GW_EVIDENCE_PATH, 'bad evidence path');
      try {
        return await buffer(await blobs.get(relPath));
      } catch (err) {
        // GW_EVIDENCE_EXPIRED when retention removed it (the normal case for alerts older
        // than evidenceDays): a 404 with its own code, and no absolute path in the message.
        if (err instanceof GridwatchError) throw err;
        throw new GridwatchError(Codes.GW_INTERNAL, `evidence ${relPath} cannot be read (${errnoOf(err)})`);
      }
    },
    health: () => ({ ...state }),
    close: () => blobs.close(),
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
            detail: `${Codes.GW_EVIDENCE_UNWRITABLE}: evidence store not writable (${state.lastError ?? 'error'}): alerts are raised without evidence images`,
          };
    },
  };
  if (!dirStore) return store;
  const fs: FsEvidenceStore = {
    ...store,
    dir: dirStore.dir,
    resolve(relPath) {
      if (!/^\d{4}-\d{2}-\d{2}\/[A-Za-z0-9_.-]+\.jpg$/.test(relPath))
        throw new GridwatchError(Codes.GW_EVIDENCE_PATH, 'bad evidence path');
      return dirStore.path(relPath);
    },
  };
  return fs;
}
