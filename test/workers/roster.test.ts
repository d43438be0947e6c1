/**
 * The roster file (workers.yaml): zod-strict with file, line and field in every error, the
 * cross checks (unique ids and accounts, known grids), hot reload keeping the last good file,
 * responsibility by nearest grid, and the CSV import (Chinese headers, zh role names, bad rows
 * by line and column, phones never echoed).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { pino } from 'pino';
import { createWatchedConfigFile } from '../../core/config/watched-config-file.js';
import { ConfigError, formatIssue } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { GRID_FILE, logSink } from '../wall/helpers/wall-harness.js';
import { loadGridFile } from '../../core/grid/grid-index.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { checkRoster, responsibleFor } from '../../features/workers/roster.js';
import { WorkersFileSchema } from '../../features/workers/workers-config.js';
import { importWorkersCsv } from '../../scripts/import-workers.js';
import { REPO_ROOT } from '../helpers/media.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
let dir: string;
let grids: GridIndex;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-roster-'));
  grids = (await loadGridFile(GRID_FILE)).index;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function rosterFile(file: string) {
  return createWatchedConfigFile({
    file,
    schema: WorkersFileSchema,
    check: (v, locate) => checkRoster(file, v, locate, grids),
    logger,
    pollMs: 50,
  });
}

async function loadError(text: string): Promise<string[]> {
  const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  try {
    await rosterFile(file).load();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatIssue);
    throw err;
  }
  return [];
}

describe('workers.yaml', () => {
  it('names file, line and field for a bad role, an unknown key, a bad phone and a grid code', async () => {
    const e = await loadError(
      [
        'workers:',
        '  - id: w1',
        '    name: 王芳',
        "    grids: ['330101001001001']",
        '    role: captain',
        '  - id: w2',
        '    name: 李明',
        "    grids: ['330101001001001']",
        '    role: full_time',
        '    phone: call-me',
        '    mobile: 1',
        '',
      ].join('\n'),
    );
    const text = e.join('\n');
    expect(text).toMatch(/bad-\w+\.yaml:5:\d+ workers\[0\]\.role/);
    expect(text).toMatch(/:10:\d+ workers\[1\]\.phone/);
    expect(text).toMatch(/:11(:\d+)? workers\[1\](\.mobile)?.*mobile/);
  });

  it('refuses duplicate ids and accounts and grids the grid file does not know', async () => {
    const e = await loadError(
      [
        'workers:',
        "  - { id: w1, name: 王芳, grids: ['330101001001001'], role: leader, account: wangfang }",
        "  - { id: w1, name: 李明, grids: ['330101001001009'], role: full_time, account: wangfang }",
        '',
      ].join('\n'),
    );
    expect(e.some((x) => /:3:\d+ workers\[1\]\.id: .*also workers\[0\]/.test(x))).toBe(true);
    expect(e.some((x) => /:3:\d+ workers\[1\]\.account/.test(x))).toBe(true);
    expect(e.some((x) => /:3:\d+ workers\[1\]\.grids\[0\]: unknown grid 330101001001009/.test(x))).toBe(true);
  });

  it('the shipped example (config/workers.example.yaml) loads against the demo grid file', async () => {
    const demo = (await loadGridFile(join(REPO_ROOT, 'config', 'grids', 'demo-city.geojson'))).index;
    const file = join(REPO_ROOT, 'config', 'workers.example.yaml');
    const r = createWatchedConfigFile({
      file,
      schema: WorkersFileSchema,
      check: (v, locate) => checkRoster(file, v, locate, demo),
      logger,
      watch: false,
    });
    const v = await r.load();
    await r.close();
    expect(v.workers.length).toBeGreaterThan(3);
  });

  it('hot-reloads an edit and keeps the last good roster when an edit is broken', async () => {
    const file = join(dir, 'workers.yaml');
    await writeFile(file, "workers:\n  - { id: w1, name: 王芳, grids: ['330101001001001'], role: leader }\n");
    const r = rosterFile(file);
    await r.load();
    try {
      await writeFile(
        file,
        "workers:\n  - { id: w1, name: 王芳, grids: ['330101001001001'], role: leader }\n  - { id: w2, name: 李明, grids: ['330101001001001'], role: part_time }\n",
      );
      await waitFor('reload', async () => (await r.refresh()).workers.length === 2);
      await writeFile(file, 'workers:\n  - { id: w3, name: 坏, grids: [], role: leader }\n');
      await waitFor('rejected edit', async () => (await r.refresh(), r.issues().length > 0));
      expect(r.current().workers.map((w) => w.id)).toEqual(['w1', 'w2']);
      expect(r.issues()[0]!.path).toBe('workers[0].grids');
    } finally {
      await r.close();
    }
  });

  it('names the grid’s team leader first, else the nearest ancestor grid’s', () => {
    const roster = WorkersFileSchema.parse(
      parseYaml(
        [
          'workers:',
          "  - { id: b, name: B, grids: ['330101001001001'], role: part_time }",
          "  - { id: a, name: A, grids: ['330101001001001'], role: leader }",
          "  - { id: c, name: C, grids: ['330101001'], role: instructor }",
          "  - { id: d, name: D, grids: ['330101001001001'], role: full_time, active: false }",
        ].join('\n'),
      ),
    ).workers;
    const path = (code: string) => ({ gridCode: code, gridPath: grids.path(code) });
    expect(responsibleFor(roster, path('330101001001001'))).toMatchObject({
      gridCode: '330101001001001',
      workers: [{ id: 'a' }, { id: 'b' }],
    });
    expect(responsibleFor(roster, path('330101001001002')).gridCode).toBe('330101001');
    expect(responsibleFor(roster, path('330102001001001'))).toEqual({ gridCode: null, workers: [] });
  });
});

describe('phones are private', () => {
  it('the logger redacts a phone at any depth we log (a worker or a reporter logged by mistake)', () => {
    const { stream, sink } = logSink();
    const log = createLogger({ level: 'info', destination: stream, pretty: false });
    log.info(
      { phone: '13800000001', worker: { phone: '13800000002' }, a: { b: { phone: '13800000003' } } },
      'x',
    );
    log.flush?.();
    expect(sink.text()).toContain('"phone":"***"');
    expect(sink.text()).not.toMatch(/1380000000[123]/);
  });
});

describe('CSV import', () => {
  const CSV = [
    '工号,姓名,网格编码,角色,电话,账号',
    'w001,王芳,330101001001001,网格长,13800000001,wangfang',
    'w002,李明,330101001001001；330101001001002,专职网格员,,liming',
    'w003,陈静,330101001001002,队长,13800000003,',
    'w004,赵六,12345,兼职网格员,,',
    'w005,钱七,330101001001001,part_time,1380000000X,',
    'w001,重复,330101001001001,网格员,,',
  ].join('\n');

  it('imports good rows and names each bad one by line and column, never echoing a phone', () => {
    const r = importWorkersCsv(Buffer.from(CSV), 'roster.csv');
    expect(r.workers.map((w) => [w.id, w.role, w.grids])).toEqual([
      ['w001', 'leader', ['330101001001001']],
      ['w002', 'full_time', ['330101001001001', '330101001001002']],
    ]);
    const text = r.issues.map(formatIssue).join('\n');
    expect(text).toMatch(/roster\.csv:4:4 角色: unknown role/);
    expect(text).toMatch(/roster\.csv:5:3 网格编码/);
    expect(text).toMatch(/roster\.csv:6:5 电话/);
    expect(text).toMatch(/roster\.csv:7:4 角色/);
    expect(text).not.toContain('1380000000X');
  });

  it('the CLI writes a workers.yaml the gateway loads, exit 1 for bad rows, no phone on stdout or stderr', async () => {
    const csv = join(dir, 'roster.csv');
    const out = join(dir, 'imported.yaml');
    await writeFile(csv, CSV);
    const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
    const res = await run(tsx, [
      join(REPO_ROOT, 'scripts', 'import-workers.ts'),
      '--csv',
      csv,
      '--out',
      out,
    ]).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/imported 2 worker\(s\)/);
    expect(res.stdout + res.stderr).not.toMatch(/138000000/);
    const r = rosterFile(out);
    const v = await r.load();
    await r.close();
    expect(v.workers.map((w) => w.id)).toEqual(['w001', 'w002']);
    expect(await readFile(out, 'utf8')).toContain('phone: "13800000001"');
  });
});
