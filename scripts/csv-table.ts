/**
 * The frame both CSV importers share (cameras, grid workers): decode (UTF-8 or GBK), parse with
 * line numbers, map the header through each field's aliases (Chinese or English), refuse a file
 * missing a required column, and give each row its source line and a `bad()` that records an
 * issue at that line and the field's column. What a row means stays with each importer.
 */
import { parse } from 'csv-parse/sync';
import type { InputIssue } from '../core/errors.js';
import { firstInvalidUtf8 } from '../core/config/read-config-text.js';

/** Decodes the export: UTF-8 (BOM dropped) or, when it is not UTF-8 but is valid GBK, GBK. */
export function decodeCsv(
  buf: Buffer,
  source: string,
): { text: string; encoding: 'utf-8' | 'gbk' } | InputIssue {
  if (buf.indexOf(0) >= 0) {
    return {
      source,
      path: '',
      expected: 'CSV text',
      found: 'a NUL byte (binary data)',
      message: 'not a CSV file (binary data)',
    };
  }
  if (firstInvalidUtf8(buf) < 0) {
    const text = buf.toString('utf8');
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, encoding: 'utf-8' };
  }
  try {
    return { text: new TextDecoder('gbk', { fatal: true }).decode(buf), encoding: 'gbk' };
  } catch {
    return {
      source,
      path: '',
      expected: 'UTF-8 or GBK text',
      found: 'neither',
      message: 'cannot decode the file; save it as UTF-8 CSV',
    };
  }
}

export interface CsvRow<F extends string> {
  record: string[];
  /** The row's first line in the file (a quoted cell may span lines). */
  line: number;
  /** The trimmed cell of a field, '' when its column is absent. */
  get(f: F): string;
  /** Records an issue of this row at the field's column. */
  bad(f: F, expected: string, found: string, message: string): void;
  /** This row's issues so far. */
  issues: InputIssue[];
}

export type CsvTable<F extends string> =
  | {
      ok: true;
      encoding: 'utf-8' | 'gbk';
      header: string[];
      col: Map<F, number>;
      /** The header text of a field's column (what an issue's path names). */
      colName(f: F): string;
      rows: CsvRow<F>[];
    }
  | { ok: false; encoding: 'utf-8' | 'gbk'; issues: InputIssue[] };

const norm = (h: string) =>
  h
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, '');

export function readCsvTable<F extends string>(
  buf: Buffer,
  source: string,
  aliases: Record<F, string[]>,
  /** The fields a file must have a column for (given the columns found). */
  required: (col: Map<F, number>) => F[],
): CsvTable<F> {
  const decoded = decodeCsv(buf, source);
  if ('path' in decoded) return { ok: false, encoding: 'utf-8', issues: [decoded] };
  const { encoding } = decoded;
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(decoded.text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as typeof records;
  } catch (cause) {
    const e = cause as Error & { lines?: number };
    const at = e.lines ? { line: e.lines } : {};
    return {
      ok: false,
      encoding,
      issues: [
        { source, ...at, path: '', expected: 'valid CSV', found: 'a syntax error', message: e.message },
      ],
    };
  }
  const header = records.shift();
  if (!header)
    return {
      ok: false,
      encoding,
      issues: [
        {
          source,
          line: 1,
          path: '',
          expected: 'a header row',
          found: 'an empty file',
          message: 'the CSV is empty',
        },
      ],
    };
  const col = new Map<F, number>();
  header.record.forEach((h, i) => {
    for (const [f, names] of Object.entries(aliases) as [F, string[]][])
      if (!col.has(f) && names.includes(norm(h))) col.set(f, i);
  });
  const missing = required(col);
  if (missing.length)
    return {
      ok: false,
      encoding,
      issues: missing.map((f) => ({
        source,
        line: 1,
        path: f,
        expected: `a column named ${aliases[f].slice(0, 3).join(' / ')}`,
        found: `columns ${header.record.join(', ')}`,
        message: `required column ${f} is missing`,
      })),
    };
  const colName = (f: F) => header.record[col.get(f) ?? -1] ?? f;
  const rows = records.map(({ record, info }): CsvRow<F> => {
    // info.lines is the row's last line; a quoted cell's newlines move it past the first.
    const line = info.lines - record.reduce((n, v) => n + (v.match(/\n/g)?.length ?? 0), 0);
    const issues: InputIssue[] = [];
    return {
      record,
      line,
      issues,
      get: (f) => (col.has(f) ? (record[col.get(f)!] ?? '').trim() : ''),
      bad: (f, expected, found, message) =>
        issues.push({
          source,
          line,
          column: (col.get(f) ?? 0) + 1,
          path: colName(f),
          expected,
          found,
          message,
        }),
    };
  });
  return { ok: true, encoding, header: header.record, col, colName, rows };
}
