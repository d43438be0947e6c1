import type { Locate, PathKey } from './zod-issues.js';

function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: offset - last };
}

/**
 * Finds where a path is in JSON text without building a second tree: a scanner skips
 * values it does not descend into. Used only when there are issues to report, and at most
 * `budget` times per file so a file with 100,000 bad features still reports quickly.
 */
export function createJsonLocator(text: string, budget = 500): Locate {
  let used = 0;
  const ws = (i: number) => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    return i;
  };
  const skipString = (i: number) => {
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) i += 2;
      else if (c === 0x22) return i + 1;
      else i++;
    }
    return i;
  };
  const skipValue = (i: number): number => {
    i = ws(i);
    const c = text[i];
    if (c === '"') return skipString(i);
    if (c === '{' || c === '[') {
      let depth = 0;
      while (i < text.length) {
        const ch = text[i];
        if (ch === '"') {
          i = skipString(i);
          continue;
        }
        if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') {
          depth--;
          if (depth === 0) return i + 1;
        }
        i++;
      }
      return i;
    }
    while (i < text.length && !',]}'.includes(text[i]!) && !/\s/.test(text[i]!)) i++;
    return i;
  };
  /** Offset of the value at `key` in the object/array starting at `i`, or -1; `keyOffset` for keys. */
  const child = (i: number, key: PathKey, wantKey: boolean): number => {
    i = ws(i);
    if (text[i] === '{' && typeof key === 'string') {
      i = ws(i + 1);
      while (i < text.length && text[i] !== '}') {
        const ks = i;
        const ke = skipString(i);
        const name = JSON.parse(text.slice(ks, ke)) as string;
        i = ws(ke);
        i = ws(i + 1); // ':'
        if (name === key) return wantKey ? ks : i;
        i = ws(skipValue(i));
        if (text[i] === ',') i = ws(i + 1);
      }
      return -1;
    }
    if (text[i] === '[' && typeof key === 'number') {
      i = ws(i + 1);
      let idx = 0;
      while (i < text.length && text[i] !== ']') {
        if (idx === key) return i;
        i = ws(skipValue(i));
        if (text[i] === ',') i = ws(i + 1);
        idx++;
      }
    }
    return -1;
  };
  return (path, opts) => {
    if (used++ >= budget) return {};
    let at = ws(0);
    for (const k of path) {
      const next = child(at, k, false);
      if (next < 0) break;
      at = next;
    }
    if (opts?.key !== undefined) {
      const k = child(at, opts.key, true);
      if (k >= 0) at = k;
    }
    return lineCol(text, at);
  };
}

/** Line and column of a JSON.parse SyntaxError ("... at position 123" in Node 20). */
export function jsonSyntaxPosition(text: string, err: Error): { line?: number; column?: number } {
  const m = /position (\d+)/.exec(err.message);
  if (m) return lineCol(text, Number(m[1]));
  const lc = /line (\d+) column (\d+)/.exec(err.message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  return {};
}
