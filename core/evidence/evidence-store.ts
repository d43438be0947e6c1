import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { EvidenceStore } from '../contracts/evidence-store.js';
import { Codes, GridwatchError } from '../errors.js';

const NAME = /^[A-Za-z0-9_.:-]{1,150}$/;

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
}

/** Evidence JPEGs under <dir>/YYYY-MM-DD/. Writes are atomic (temp file + rename). */
export function createEvidenceStore(opts: FsEvidenceStoreOptions): EvidenceStore & { readonly dir: string } {
  const root = resolve(opts.dir);
  const tz = opts.timeZone ?? 'Asia/Shanghai';
  const store = {
    dir: root,
    async put(name: string, jpeg: Uint8Array, at = Date.now()): Promise<string> {
      const safe = name.replace(/:/g, '_');
      if (!NAME.test(safe))
        throw new GridwatchError(Codes.GW_EVIDENCE_NAME, `bad evidence name ${JSON.stringify(name)}`);
      const rel = `${dayFolder(at, tz)}/${safe}.jpg`;
      const abs = join(root, rel);
      await mkdir(dirname(abs), { recursive: true });
      const tmp = `${abs}.${process.pid}.tmp`;
      await writeFile(tmp, jpeg);
      await rename(tmp, abs);
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
      return readFile(store.resolve(relPath));
    },
  };
  return store;
}
