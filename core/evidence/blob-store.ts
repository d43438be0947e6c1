/**
 * Where evidence bytes live, by key: the seam between the evidence store (names, dates,
 * health) and a backend. Keys are relative paths of safe segments (`2026-12-01/a-1.jpg`).
 * Implementations here: a directory (local or shared over NFS, dir-blob-store.ts) and Redis
 * (redis-blob-store.ts). An S3-compatible object store (MinIO) is the answer for large sites
 * and fits this interface (PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2); it
 * is not implemented because no such server can be run on this machine to test it
 * (docs/decisions.md).
 */
import type { Readable } from 'node:stream';

export interface BlobInfo {
  key: string;
  size: number;
  /** Write time, ms since the epoch. */
  mtimeMs: number;
}

export interface BlobStore {
  /** `dir` for a directory store (retention sweeps it), `redis` for Redis. */
  readonly kind: 'dir' | 'redis';
  /** Stores the bytes under `key`, whole or not at all (readers never see a partial object). */
  put(key: string, body: Uint8Array | Readable): Promise<void>;
  /** The bytes, streamed; throws GW_EVIDENCE_EXPIRED when the key is not (or no longer) kept. */
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<BlobInfo | null>;
  /** True when something was deleted. */
  delete(key: string): Promise<boolean>;
  /** Objects whose key starts with `prefix` (e.g. a day folder `2026-12-01/`), in key order. */
  list(prefix?: string): AsyncIterable<BlobInfo>;
  close(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,150}$/;

/** True for a key of 1 to 4 safe segments; no `..`, no leading slash, no backslash. */
export function isBlobKey(key: string): boolean {
  const parts = key.split('/');
  return parts.length <= 4 && parts.every((p) => SEGMENT.test(p) && !p.includes('..'));
}
