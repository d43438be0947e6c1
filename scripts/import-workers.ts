/**
 * Imports a grid-worker roster (CSV, e.g. exported from the 网格化管理 system's 人员 list) into
 * workers.yaml.
 *
 *   npx tsx scripts/import-workers.ts --csv roster.csv [--out config/workers.yaml] [--config config/gateway.yaml]
 *
 * --out defaults to gateway.yaml's `workers.file`. Headers may be Chinese or English (工号/id,
 * 姓名/name, 网格编码/grids, 角色/role, 电话/phone, 账号/account, 在岗/active); several grids in one
 * cell are separated by ; , 、 or |. A role is its code (leader, full_time, …) or its zh-CN name
 * (网格长, 专职网格员, …; docs/workers.md). UTF-8 with or without BOM, or GBK (detected). Every bad
 * row is reported on stderr (line, column, problem) and left out; phone numbers are never
 * printed. Exit code 1 when any row was bad, 0 otherwise, 2 when nothing could be read.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify } from 'yaml';
import { describeValue, expectedOf, messageOf } from '../core/config/zod-issues.js';
import { formatIssue, type InputIssue } from '../core/errors.js';
import {
  WORKER_ROLE_ZH,
  WORKER_ROLES,
  WorkerSchema,
  type Worker,
  type WorkerRole,
} from '../features/workers/workers-config.js';
import { readCsvTable } from './csv-table.js';

type Field = 'id' | 'name' | 'grids' | 'role' | 'phone' | 'account' | 'active';

const ALIASES: Record<Field, string[]> = {
  id: ['工号', '人员编号', '编号', 'id', 'workerid'],
  name: ['姓名', '名字', 'name'],
  grids: ['网格编码', '所属网格', '网格', '网格代码', 'grids', 'grid', 'gridcode', 'gridcodes'],
  role: ['角色', '岗位', '职务', 'role'],
  phone: ['电话', '手机', '手机号', '联系电话', 'phone', 'mobile'],
  account: ['账号', '登录账号', '用户名', 'account', 'username'],
  active: ['在岗', '状态', 'active'],
};

const ROLE_OF = new Map<string, WorkerRole>([
  ...WORKER_ROLES.map((r) => [r, r] as [string, WorkerRole]),
  ...WORKER_ROLES.map((r) => [WORKER_ROLE_ZH[r], r] as [string, WorkerRole]),
  ['专职', 'full_time'],
  ['兼职', 'part_time'],
  ['指导员', 'instructor'],
  ['网格指导员', 'instructor'],
  ['民警', 'police'],
  ['社区民警', 'police'],
  ['监督员', 'supervisor'],
]);
const ACTIVE_OF: Record<string, boolean> = {
  '': true,
  是: true,
  在岗: true,
  true: true,
  yes: true,
  '1': true,
  否: false,
  离岗: false,
  离职: false,
  false: false,
  no: false,
  '0': false,
};

export interface WorkersImport {
  workers: Worker[];
  issues: InputIssue[];
  encoding: 'utf-8' | 'gbk';
  rows: number;
}

export function importWorkersCsv(buf: Buffer, source: string): WorkersImport {
  const table = readCsvTable(buf, source, ALIASES, (col) =>
    (['id', 'name', 'grids', 'role'] as Field[]).filter((f) => !col.has(f)),
  );
  if (!table.ok) return { workers: [], issues: table.issues, encoding: table.encoding, rows: 0 };
  const { colName, rows: records } = table;
  const issues: InputIssue[] = [];
  const workers: Worker[] = [];
  const seen = new Map<string, number>();
  const accounts = new Map<string, number>();
  for (const { line, get, bad, issues: rowIssues } of records) {
    const role = ROLE_OF.get(get('role')) ?? ROLE_OF.get(get('role').toLowerCase());
    if (!role)
      bad(
        'role',
        `one of ${WORKER_ROLES.map((r) => `${r}/${WORKER_ROLE_ZH[r]}`).join(', ')}`,
        describeValue(get('role')),
        'unknown role',
      );
    const active = ACTIVE_OF[get('active').toLowerCase()];
    if (active === undefined) bad('active', '是/否 (yes/no)', describeValue(get('active')), 'not yes or no');
    const phone = get('phone');
    const account = get('account');
    const w = {
      id: get('id'),
      name: get('name'),
      grids: get('grids')
        .split(/[;；,，|、\s]+/)
        .map((g) => g.trim())
        .filter(Boolean),
      role: role ?? 'full_time',
      ...(phone ? { phone } : {}),
      ...(account ? { account } : {}),
      ...(active === false ? { active: false } : {}),
    };
    const r = WorkerSchema.safeParse(w, { reportInput: true });
    if (!r.success) {
      const reported = new Set(rowIssues.map((i) => i.path));
      for (const i of r.error.issues) {
        const f = String(i.path[0] ?? 'id') as Field;
        if (reported.has(colName(f))) continue;
        // A phone number is private: the problem is named, the value is not echoed.
        bad(f, expectedOf(i), f === 'phone' ? '(not shown)' : describeValue(i.input ?? ''), messageOf(i));
      }
    }
    if (rowIssues.length === 0) {
      const first = seen.get(w.id);
      if (first !== undefined)
        bad('id', 'an id unique in the file', w.id, `duplicate id (first on line ${first})`);
      const other = account ? accounts.get(account) : undefined;
      if (other !== undefined)
        bad('account', 'one worker per account', account, `account also on line ${other}`);
    }
    if (rowIssues.length) {
      issues.push(...rowIssues);
      continue;
    }
    seen.set(w.id, line);
    if (account) accounts.set(account, line);
    workers.push(w as Worker);
  }
  return { workers, issues, encoding: table.encoding, rows: records.length };
}

/** workers.file of a gateway config, resolved against its folder; null when not set or unreadable. */
export function rosterFileOf(configFile: string): string | null {
  try {
    const doc = parseYaml(readFileSync(configFile, 'utf8')) as { workers?: { file?: unknown } } | null;
    const f = doc?.workers?.file;
    if (typeof f !== 'string') return null;
    return isAbsolute(f) ? f : resolve(dirname(configFile), f);
  } catch {
    return null;
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      csv: { type: 'string' },
      out: { type: 'string' },
      config: { type: 'string', default: 'config/gateway.yaml' },
    },
  });
  const out = values.out ? resolve(values.out) : rosterFileOf(resolve(values.config!));
  if (!values.csv || !out) {
    process.stderr.write('usage: import-workers --csv FILE [--out workers.yaml] [--config gateway.yaml]\n');
    process.exit(2);
  }
  const csv = resolve(values.csv);
  let buf: Buffer;
  try {
    buf = readFileSync(csv);
  } catch (err) {
    process.stderr.write(`cannot read ${csv}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
    process.exit(2);
  }
  const r = importWorkersCsv(buf, csv);
  if (r.encoding === 'gbk') process.stderr.write(`${csv}: not UTF-8; decoded as GBK (a Windows export).\n`);
  for (const i of r.issues) process.stderr.write(`${formatIssue(i)}\n`);
  if (r.workers.length === 0 && r.issues.length) process.exit(2);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `# Grid-worker roster, imported from ${csv.split('/').at(-1)} (${r.encoding}). Phones are private (docs/workers.md).\n` +
      stringify({ workers: r.workers }, { lineWidth: 0 }),
    { mode: 0o640 },
  );
  const badRows = new Set(r.issues.map((i) => i.line)).size;
  process.stdout.write(`imported ${r.workers.length} worker(s) into ${out}; ${badRows} bad row(s)\n`);
  process.exit(r.issues.length ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
