import { open, stat } from 'node:fs/promises';
import type { InputIssue } from '../errors.js';

export const MB = 1024 * 1024;

/** Size caps: a 50 MB camera YAML is a mistake (or an attack), not a camera list. */
export const LIMITS = {
  yamlBytes: 10 * MB,
  geojsonBytes: 200 * MB,
  csvBytes: 50 * MB,
  /** Issues listed per file; the rest are counted ("N more issues not listed"). */
  issuesPerFile: 100,
  /** Longest config log line (a rejected entry's issues joined); longer ones are cut. */
  logLineChars: 8_000,
  /** Rejected entries logged one by one per file; the rest in one summary line. */
  loggedEntriesPerFile: 20,
} as const;

export type ReadTextResult =
  { ok: true; text: string; size: number; mtimeMs: number } | { ok: false; issue: InputIssue };

function lineColOf(buf: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (buf[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * Reads a config file as UTF-8 text, refusing what no parser should see: files over the size
 * cap (checked with stat, before reading), NUL bytes and invalid UTF-8 (binary files, GBK
 * exports). A BOM is dropped. The issue names the file, line and column of the first bad byte.
 */
export async function readConfigText(file: string, maxBytes: number, what = 'file'): Promise<ReadTextResult> {
  const base = { source: file, path: '' };
  let st;
  try {
    st = await stat(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return {
      ok: false,
      issue: {
        ...base,
        expected: `a readable ${what}`,
        found: code === 'ENOENT' ? 'no such file' : String(code ?? cause),
        message: code === 'ENOENT' ? `${what} ${file} does not exist` : `${what} ${file} cannot be read`,
      },
    };
  }
  if (!st.isFile()) {
    return {
      ok: false,
      issue: {
        ...base,
        expected: `a ${what}`,
        found: 'a directory or special file',
        message: `${file} is not a regular file`,
      },
    };
  }
  // One size rule, checked twice: on stat (before reading) and on what was read.
  const tooLarge = (bytes: number, message: string): ReadTextResult => ({
    ok: false,
    issue: {
      ...base,
      expected: `at most ${(maxBytes / MB).toFixed(0)} MB`,
      found: `${(bytes / MB).toFixed(1)} MB`,
      message,
    },
  });
  if (st.size > maxBytes) {
    return tooLarge(st.size, `${what} is too large (${st.size} bytes); split it into several files`);
  }
  const fh = await open(file, 'r');
  let buf: Buffer;
  try {
    buf = await fh.readFile();
  } finally {
    await fh.close();
  }
  // The file may have grown between stat and read.
  if (buf.length > maxBytes) return tooLarge(buf.length, `${what} is too large`);
  const nul = buf.indexOf(0);
  if (nul >= 0) {
    return {
      ok: false,
      issue: {
        ...base,
        ...lineColOf(buf, nul),
        expected: 'UTF-8 text',
        found: 'a NUL byte (binary data)',
        message: `${what} contains binary data, not text`,
      },
    };
  }
  const bad = firstInvalidUtf8(buf);
  if (bad >= 0) {
    return {
      ok: false,
      issue: {
        ...base,
        ...lineColOf(buf, bad),
        expected: 'UTF-8 text',
        found: `byte 0x${buf[bad]!.toString(16).padStart(2, '0')} that is not UTF-8 (GBK or binary?)`,
        message: `${what} is not valid UTF-8; re-save it as UTF-8`,
      },
    };
  }
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { ok: true, text, size: st.size, mtimeMs: st.mtimeMs };
}
