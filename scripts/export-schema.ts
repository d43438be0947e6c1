/**
 * Writes the JSON Schemas of the config files (for editors: VS Code YAML, JetBrains) to
 * config/schema/. `npm run schema`; test/config/schema-export.test.ts fails when the
 * committed files differ from a fresh export.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CameraFileSchema } from '../core/contracts/camera-schema.js';
import { GatewayConfigSchema } from '../app/gateway-schema.js';
import { GridFileSchema } from '../core/contracts/grid-schema.js';
import { DepartmentsFileSchema } from '../features/departments/departments-config.js';
import { WorkersFileSchema } from '../features/workers/workers-config.js';
import { SourcesFileSchema } from '../features/events/events-config.js';

export const SCHEMA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'config', 'schema');

/** File name → JSON text, exactly as written. */
export function exportSchemas(): Record<string, string> {
  const one = (id: string, title: string, schema: z.ZodType) => {
    // io 'input': what people write (defaults make fields optional), not what the parser returns.
    const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' });
    return `${JSON.stringify({ $id: `https://gridwatch.local/schema/${id}`, title, ...json }, null, 2)}\n`;
  };
  return {
    'gateway.schema.json': one('gateway.schema.json', 'gridwatch gateway.yaml', GatewayConfigSchema),
    'camera-file.schema.json': one('camera-file.schema.json', 'gridwatch camera file', CameraFileSchema),
    'grid-file.schema.json': one('grid-file.schema.json', 'gridwatch grid file (GeoJSON)', GridFileSchema),
    'sources.schema.json': one(
      'sources.schema.json',
      'gridwatch events sources (sources.yaml)',
      SourcesFileSchema,
    ),
    'departments.schema.json': one(
      'departments.schema.json',
      'gridwatch departments (departments.yaml)',
      DepartmentsFileSchema,
    ),
    'workers.schema.json': one(
      'workers.schema.json',
      'gridwatch grid-worker roster (workers.yaml)',
      WorkersFileSchema,
    ),
  };
}

type Js = {
  type?: string | string[];
  properties?: Record<string, Js>;
  required?: string[];
  items?: Js | Js[];
  prefixItems?: Js[];
  additionalProperties?: Js | boolean;
  anyOf?: Js[];
  oneOf?: Js[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
};

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeOf(s: Js): string {
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' or ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(', ');
  const t = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  const bounds: string[] = [];
  const SAFE = Number.MAX_SAFE_INTEGER;
  if (s.minimum !== undefined && s.minimum !== -SAFE) bounds.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) bounds.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined && s.maximum !== SAFE) bounds.push(`≤ ${s.maximum}`);
  if (s.minItems !== undefined && s.minItems > 0) bounds.push(`≥ ${s.minItems} items`);
  if (s.maxItems !== undefined) bounds.push(`≤ ${s.maxItems} items`);
  if (s.minLength !== undefined && s.minLength > 0) bounds.push(`≥ ${s.minLength} chars`);
  if (s.maxLength !== undefined) bounds.push(`≤ ${s.maxLength} chars`);
  if (s.pattern) bounds.push(`\`/${s.pattern}/\``);
  if (t === 'array' && s.prefixItems) return `[${s.prefixItems.map(typeOf).join(', ')}]`;
  if (t === 'array' && s.items && !Array.isArray(s.items)) {
    const it = s.items;
    const inner =
      it.type === 'object' || it.anyOf || it.oneOf
        ? it.anyOf || it.oneOf
          ? typeOf(it)
          : 'mapping'
        : typeOf(it);
    return `list of ${inner}${bounds.length ? ` (${bounds.join(', ')})` : ''}`;
  }
  if (t === 'object') return 'mapping';
  return bounds.length ? `${t} (${bounds.join(', ')})` : t;
}

type Row = { path: string; forms: string[]; type: string; def: string; meaning: string };

/** Rows: field path, type, default, meaning; nested mappings, lists and unions are flattened. */
function rows(s: Js, path: string, forms: string[], out: Row[], required = false): void {
  const join = (k: string) => `${path}${path ? '.' : ''}${k}`;
  const alts = s.anyOf ?? s.oneOf;
  const objAlts = alts?.filter((a) => a.type === 'object' && a.properties);
  if (objAlts && objAlts.length === alts!.length && alts!.length > 1) {
    if (path)
      out.push({
        path,
        forms,
        type: 'mapping, one of the forms below',
        def: fmtDefault(s, required),
        meaning: s.description ?? '',
      });
    for (const a of objAlts) {
      const tag = Object.entries(a.properties!).find(([, v]) => v.const !== undefined);
      const label = tag
        ? `${tag[0]}: ${String(tag[1].const)}`
        : `${path.split('.').pop()} with ${Object.keys(a.properties!).join('/')}`;
      for (const [k, v] of Object.entries(a.properties!))
        rows(v, join(k), [...forms, label], out, a.required?.includes(k));
    }
    return;
  }
  const isObjList =
    s.type === 'array' &&
    s.items &&
    !Array.isArray(s.items) &&
    s.items.type === 'object' &&
    s.items.properties;
  if (path) {
    const meaning = s.description ?? (isObjList ? ((s.items as Js).description ?? '') : '');
    out.push({ path, forms, type: typeOf(s), def: fmtDefault(s, required), meaning });
  }
  if (s.type === 'object' && s.properties) {
    for (const [k, v] of Object.entries(s.properties)) rows(v, join(k), forms, out, s.required?.includes(k));
  } else if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
    const ap = s.additionalProperties;
    if (ap.type === 'object' || ap.type === 'array') rows(ap, `${path}.<key>`, forms, out, true);
  }
  if (isObjList) {
    const it = s.items as Js;
    for (const [k, v] of Object.entries(it.properties!))
      rows(v, `${path}[].${k}`, forms, out, it.required?.includes(k));
  }
}

function fmtDefault(s: Js, required: boolean): string {
  if (s.default !== undefined) return `\`${JSON.stringify(s.default)}\``.replace(/^`(.{60}).+`$/, '`$1…`');
  return required ? '*required*' : '—';
}

/** Markdown table of every field of a schema, generated so the docs cannot drift from code. */
export function fieldTable(schema: z.ZodType): string {
  const js = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as Js;
  const out: Row[] = [];
  rows(js, '', [], out);
  const head = '| Field | Type | Default | Meaning |\n|---|---|---|---|';
  const line = (r: Row) =>
    `| \`${r.path}\`${r.forms.length ? ` *(${r.forms.join('; ')})*` : ''} | ${cell(r.type)} | ${cell(r.def)} | ${cell(r.meaning)} |`;
  return `${head}\n${out.map(line).join('\n')}`;
}

export const DOC_TABLES: Record<string, z.ZodType> = {
  gateway: GatewayConfigSchema,
  camera: CameraFileSchema,
  grid: GridFileSchema,
};

/**
 * Replaces each `<!-- fields:NAME -->…<!-- /fields:NAME -->` section with a fresh table,
 * fenced from prettier so the committed doc and a fresh export stay byte-identical.
 */
export function refreshDocTables(markdown: string): string {
  return markdown.replace(/<!-- fields:(\w+) -->[\s\S]*?<!-- \/fields:\1 -->/g, (all, name: string) => {
    const schema = DOC_TABLES[name];
    if (!schema) return all;
    return `<!-- fields:${name} -->\n<!-- prettier-ignore-start -->\n${fieldTable(schema)}\n<!-- prettier-ignore-end -->\n<!-- /fields:${name} -->`;
  });
}

export const DOC_FILE = resolve(SCHEMA_DIR, '..', '..', 'docs', 'configuration.md');

function main(): void {
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const [name, text] of Object.entries(exportSchemas())) {
    writeFileSync(join(SCHEMA_DIR, name), text);
    process.stdout.write(`wrote ${join(SCHEMA_DIR, name)}\n`);
  }
  if (existsSync(DOC_FILE)) {
    writeFileSync(DOC_FILE, refreshDocTables(readFileSync(DOC_FILE, 'utf8')));
    process.stdout.write(`refreshed field tables in ${DOC_FILE}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
