import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { Codes, GridwatchError } from '../errors.js';
import { isBlobKey, type BlobInfo, type BlobStore } from './blob-store.js';

/**
 * Blobs as files under one directory: the single-node default, and the shared-directory
 * option for a cluster (every node mounts the same directory, e.g. NFS). Writes are atomic
 * (temp file in the same folder, then rename), so a reader on another node sees the whole
 * file or none.
 */
export function createDirBlobStore(o: { dir: string }): BlobStore & {
  readonly dir: string;
  /** Absolute path of a key (checked: never outside the directory). */
  path(key: string): string;
} {
  const root = resolve(o.dir);
  const abs = (key: string): string => {
    if (!isBlobKey(key)) throw new GridwatchError(Codes.GW_EVIDENCE_PATH, 'bad evidence path');
    const p = normalize(join(root, key));
    if (!p.startsWith(root + sep)) throw new GridwatchError(Codes.GW_EVIDENCE_PATH, 'bad evidence path');
    return p;
  };
  const missing = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  };
  async function* walk(rel: string): AsyncGenerator<BlobInfo> {
    let names: string[];
    try {
      names = (await readdir(join(root, rel))).sort();
    } catch (err) {
      if (missing(err)) return;
      throw err;
    }
    for (const n of names) {
      const key = rel ? `${rel}/${n}` : n;
      if (!isBlobKey(key)) continue; // temp and probe files start with a dot
      const s = await stat(join(root, key)).catch(() => null);
      if (!s) continue;
      if (s.isDirectory()) yield* walk(key);
      else if (s.isFile()) yield { key, size: s.size, mtimeMs: s.mtimeMs };
    }
  }
  return {
    kind: 'dir',
    dir: root,
    path: abs,
    async put(key, body) {
      const p = abs(key);
      await mkdir(dirname(p), { recursive: true });
      const tmp = join(dirname(p), `.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await writeFile(tmp, body);
        await rename(tmp, p);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw err;
      }
    },
    async get(key) {
      const p = abs(key);
      // Opened before it is returned, so a missing file is this call's error, not the stream's.
      const stream: Readable = createReadStream(p);
      await new Promise<void>((res, rej) => {
        stream.once('open', () => res());
        stream.once('error', rej);
      }).catch((err: unknown) => {
        if (missing(err))
          throw new GridwatchError(Codes.GW_EVIDENCE_EXPIRED, `evidence ${key} is no longer kept`, {
            details: { evidence: key },
          });
        throw err;
      });
      return stream;
    },
    async stat(key) {
      try {
        const s = await stat(abs(key));
        return s.isFile() ? { key, size: s.size, mtimeMs: s.mtimeMs } : null;
      } catch (err) {
        if (missing(err)) return null;
        throw err;
      }
    },
    async delete(key) {
      const p = abs(key);
      const had = await stat(p).then(
        () => true,
        () => false,
      );
      await rm(p, { force: true });
      return had;
    },
    async *list(prefix = '') {
      // Walk only the folder the prefix names, then filter by the rest.
      const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      if (folder && !isBlobKey(folder)) throw new GridwatchError(Codes.GW_EVIDENCE_PATH, 'bad evidence path');
      for await (const b of walk(folder)) if (b.key.startsWith(prefix)) yield b;
    },
    close: async () => undefined,
  };
}
