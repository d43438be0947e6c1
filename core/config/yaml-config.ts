import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { InputIssue } from '../errors.js';
import type { Locate, PathKey } from './zod-issues.js';

export interface ParsedYaml {
  data: unknown;
  /** Syntax errors (the document is unusable when non-empty). */
  issues: InputIssue[];
  locate: Locate;
  doc: Document;
}

/**
 * Parses YAML keeping node positions so every later issue can name its line and column.
 * Aliases are limited: a few KB of YAML must not expand into gigabytes (billion laughs).
 */
export function parseYamlConfig(source: string, text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const issues: InputIssue[] = doc.errors.map((e) => ({
    source,
    ...pos(e.pos[0]),
    path: '',
    expected: 'valid YAML',
    found: e.code === 'DUPLICATE_KEY' ? 'a duplicate key' : e.code.toLowerCase().replace(/_/g, ' '),
    message: e.message.split('\n')[0] ?? e.message,
  }));
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
  const locate: Locate = (path, opts) => {
    // Walk as deep as the document goes; a missing field is reported at its parent.
    let node: unknown = doc.contents;
    for (const k of path as PathKey[]) {
      const next: unknown =
        isNode(node) || isMap(node)
          ? (node as { get?: (k: unknown, keep: boolean) => unknown }).get?.(k, true)
          : undefined;
      if (!isNode(next)) break;
      node = next;
    }
    if (opts?.key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === opts.key);
      if (pair && isNode(pair.key) && pair.key.range) return pos(pair.key.range[0]);
    }
    if (isNode(node) && node.range) return pos(node.range[0]);
    return { line: 1, column: 1 };
  };
  return { data, issues, locate, doc };
}
