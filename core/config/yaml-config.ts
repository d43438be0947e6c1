import {
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import type { InputIssue } from '../errors.js';
import { formatPath, type Locate, type PathKey } from './zod-issues.js';

export interface ParsedYaml {
  data: unknown;
  /** Syntax errors (the document is unusable when non-empty). */
  issues: InputIssue[];
  locate: Locate;
  /**
   * Line and column of every node (values and keys) under `path`, keyed by the dotted path
   * with the first `strip` keys removed; `{}` when there is no node there.
   */
  positionsUnder(path: readonly PathKey[], strip: number): Record<string, [number, number]>;
  doc: Document;
}

/**
 * Parses YAML keeping node positions so every later issue can name its line and column.
 * Aliases are limited: a few KB of YAML must not expand into gigabytes (billion laughs).
 *
 * Linear in the number of keys: the yaml package's own `uniqueKeys` check compares each new key
 * with every earlier one of its map (10,000 keys took seconds, 20,000 keys 6.8 s), so duplicate
 * keys are found here with one Set per map, and key lookups for issue positions use one index
 * per map built on first use.
 */
export function parseYamlConfig(source: string, text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, strict: true });
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const issues: InputIssue[] = doc.errors.map((e) => ({
    source,
    ...pos(e.pos[0]),
    path: '',
    expected: 'valid YAML',
    found: e.code.toLowerCase().replace(/_/g, ' '),
    message: e.message.split('\n')[0] ?? e.message,
  }));
  if (issues.length === 0) {
    for (const offset of duplicateKeyOffsets(doc.contents)) {
      issues.push({
        source,
        ...pos(offset),
        path: '',
        expected: 'valid YAML',
        found: 'a duplicate key',
        message: 'Map keys must be unique',
      });
    }
  }
  let data: unknown = undefined;
  if (issues.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      issues.push({
        source,
        line: 1,
        column: 1,
        path: '',
        expected: 'valid YAML',
        found: 'too many aliases',
        message: String((cause as Error).message),
      });
    }
  }
  const keyIndex = new WeakMap<YAMLMap, Map<unknown, Pair>>();
  const pairOf = (map: YAMLMap, key: unknown): Pair | undefined => {
    let idx = keyIndex.get(map);
    if (!idx) {
      idx = new Map();
      for (const p of map.items) {
        const k = isScalar(p.key) ? p.key.value : p.key;
        if (!idx.has(k)) idx.set(k, p as Pair);
      }
      keyIndex.set(map, idx);
    }
    return idx.get(key);
  };
  const nodeAt = (path: readonly PathKey[]): unknown => {
    // Walk as deep as the document goes; a missing field is reported at its parent.
    let node: unknown = doc.contents;
    for (const k of path) {
      let next: unknown;
      if (isMap(node)) next = pairOf(node, k)?.value;
      else if (isSeq(node)) next = typeof k === 'number' ? node.items[k] : undefined;
      if (!isNode(next)) break;
      node = next;
    }
    return node;
  };
  const locate: Locate = (path, opts) => {
    const node = nodeAt(path);
    if (opts?.key !== undefined && isMap(node)) {
      const pair = pairOf(node, opts.key);
      if (pair && isNode(pair.key) && pair.key.range) return pos(pair.key.range[0]);
    }
    if (isNode(node) && node.range) return pos(node.range[0]);
    return { line: 1, column: 1 };
  };
  const positionsUnder = (path: readonly PathKey[], strip: number): Record<string, [number, number]> => {
    const out: Record<string, [number, number]> = {};
    const start = nodeAt(path);
    // nodeAt stops at the deepest existing node; only an exact hit has positions to give.
    if (!isNode(start) || start !== exactNodeAt(path)) return out;
    const stack: Array<{ node: Node; path: PathKey[] }> = [{ node: start, path: [...path] }];
    for (let cur = stack.pop(); cur; cur = stack.pop()) {
      if (cur.node.range) {
        const p = pos(cur.node.range[0]);
        out[formatPath(cur.path.slice(strip))] = [p.line, p.column];
      }
      if (isMap(cur.node)) {
        for (const pair of cur.node.items) {
          if (
            !isScalar(pair.key) ||
            (typeof pair.key.value !== 'string' && typeof pair.key.value !== 'number')
          )
            continue;
          const k = String(pair.key.value);
          if (isNode(pair.value)) stack.push({ node: pair.value, path: [...cur.path, k] });
          else if (pair.key.range) {
            const p = pos(pair.key.range[0]);
            out[formatPath([...cur.path, k].slice(strip))] = [p.line, p.column];
          }
        }
      } else if (isSeq(cur.node)) {
        cur.node.items.forEach((item, i) => {
          if (isNode(item)) stack.push({ node: item, path: [...cur.path, i] });
        });
      }
    }
    return out;
  };
  const exactNodeAt = (path: readonly PathKey[]): unknown => {
    let node: unknown = doc.contents;
    for (const k of path) {
      if (isMap(node)) node = pairOf(node, k)?.value;
      else if (isSeq(node)) node = typeof k === 'number' ? node.items[k] : undefined;
      else return undefined;
    }
    return node;
  };
  return { data, issues, locate, positionsUnder, doc };
}

/** Offsets of every key that repeats an earlier scalar key of the same map (one Set per map). */
function duplicateKeyOffsets(root: unknown): number[] {
  const out: number[] = [];
  const stack: unknown[] = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const v = pair.key.value;
          const k = `${typeof v}:${String(v)}`;
          if (seen.has(k) && pair.key.range) out.push(pair.key.range[0]);
          seen.add(k);
        }
        if (pair.value) stack.push(pair.value);
        if (isNode(pair.key) && !isScalar(pair.key)) stack.push(pair.key);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return out.sort((a, b) => a - b);
}
