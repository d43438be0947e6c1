/**
 * npm run eval:photo-recheck [-- --json] [--list]
 *
 * Measures the 二次识别 re-check on grid workers' disposal photos: builds the labelled set of
 * scripts/photo-recheck-set.ts from the shared footage (GRIDWATCH_MEDIA_DIR, default
 * ../shared/media), runs every photo through the path the gateway runs (app/photo-recheck.ts's
 * recheckPhoto, then the detection pipeline's recheck with the default model, ssd-mobilenet-v2
 * from var/models) and prints, per finding type and photo variant, the false-close rate (still
 * there, passed) and the false-reopen rate (gone, failed) with exact 95 % intervals, as markdown:
 * the model's verdict alone, then with recheckPhoto's view check. --list prints every case.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { photoRecheckFrame, recheckPhoto, SAME_VIEW_MIN, viewSimilarity } from '../app/photo-recheck.js';
import type { Alert } from '../core/contracts/alert.js';
import type { Box } from '../core/contracts/finding.js';
import { createEvidenceStore } from '../core/evidence/evidence-store.js';
import { createLogger } from '../core/logger.js';
import { createDetectors, DetectorsConfigSchema, type Detectors } from '../features/detectors/index.js';
import { buildRecheckSet, clopperPearson, type RecheckCase } from './photo-recheck-set.js';

const ROOT = resolve(import.meta.dirname, '..');

/** The fields of an alert the re-check reads (camera, id, boxes); the rest are placeholders. */
export function recheckAlert(id: string, boxes: Box[]): Alert {
  return { id, cameraId: 'eval-cam', boxes } as Partial<Alert> as Alert;
}

/** The real detect role for offline use: plugins and the model pool, no camera. */
export async function openRecheckDetectors(): Promise<{ detectors: Detectors; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-recheck-eval-'));
  const logger = createLogger({
    level: process.env.GRIDWATCH_LOG_LEVEL ?? 'warn',
    pretty: false,
    destination: process.stderr,
  });
  const detectors = await createDetectors({
    config: DetectorsConfigSchema.parse({}),
    baseDir: ROOT,
    evidence: createEvidenceStore({ dir }),
    findingSink: { submit: () => Promise.resolve() },
    timeZone: 'Asia/Shanghai',
    logger,
    metrics: new Registry(),
  });
  return {
    detectors,
    async close() {
      await detectors.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CaseResult extends RecheckCase {
  /** The model's verdict alone (the re-check before the view check). */
  modelPresent: boolean;
  score: number;
  sameView: number;
  /** With the view check (app/photo-recheck.ts recheckPhoto). */
  present: boolean;
}

export async function runCases(d: Detectors, cases: RecheckCase[]): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of cases) {
    const alert = recheckAlert(c.id, [c.box]);
    // The model's verdict through recheckPhoto without a camera frame; the view check is
    // recheckPhoto's rule applied to it (one inference per photo instead of two).
    const r = await recheckPhoto(alert, c.photo, null, Date.now(), (f, a) => d.pipeline.recheck(f, a));
    const sameView = await viewSimilarity(c.photo, c.camera);
    out.push({
      ...c,
      modelPresent: r.present,
      score: r.score,
      sameView,
      present: r.present || sameView < SAME_VIEW_MIN,
    });
  }
  return out;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

function rateCell(k: number, n: number): string {
  if (n === 0) return '–';
  const [lo, hi] = clopperPearson(k, n);
  return `${k}/${n} = ${pct(k / n)} [${pct(lo)}, ${pct(hi)}]`;
}

export function table(all: CaseResult[], withViewCheck: boolean): string {
  const results = all.map((r) => ({ ...r, present: withViewCheck ? r.present : r.modelPresent }));
  const rows: string[] = [
    '| type | photo | false-close (still there, passed) | false-reopen (gone, failed) |',
    '| --- | --- | --- | --- |',
  ];
  const types = [...new Set(results.map((r) => r.type))];
  const variants = [...new Set(results.map((r) => r.variant))];
  const line = (type: string, variant: string, rs: CaseResult[]): void => {
    const there = rs.filter((r) => r.truth === 'present');
    const gone = rs.filter((r) => r.truth === 'gone');
    rows.push(
      `| ${type} | ${variant} | ${rateCell(there.filter((r) => !r.present).length, there.length)} | ${rateCell(gone.filter((r) => r.present).length, gone.length)} |`,
    );
  };
  for (const t of types) {
    for (const v of variants) {
      const rs = results.filter((r) => r.type === t && r.variant === v);
      if (rs.length) line(t, v, rs);
    }
    line(
      t,
      '**all but other-view**',
      results.filter((r) => r.type === t && r.variant !== 'other-view'),
    );
    line(
      t,
      '**all**',
      results.filter((r) => r.type === t),
    );
  }
  const gone = results.filter((r) => r.truth === 'gone');
  const bases = [...new Set(gone.map((r) => `${r.type}: ${r.base}`))];
  rows.push('', '| "gone" made as | false-reopen |', '| --- | --- |');
  for (const b of bases) {
    const rs = gone.filter((r) => `${r.type}: ${r.base}` === b);
    rows.push(`| ${b} | ${rateCell(rs.filter((r) => r.present).length, rs.length)} |`);
  }
  return rows.join('\n');
}

function simTable(results: CaseResult[]): string {
  const rows = ['| type | photo | truth | min | median | max |', '| --- | --- | --- | --- | --- | --- |'];
  const keys = [...new Set(results.map((r) => `${r.type}|${r.variant}|${r.truth}`))];
  for (const k of keys) {
    const s = results
      .filter((r) => `${r.type}|${r.variant}|${r.truth}` === k)
      .map((r) => r.sameView)
      .sort((a, b) => a - b);
    rows.push(
      `| ${k.split('|').join(' | ')} | ${s[0]!.toFixed(2)} | ${s[Math.floor(s.length / 2)]!.toFixed(2)} | ${s[s.length - 1]!.toFixed(2)} |`,
    );
  }
  return rows.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { json: { type: 'boolean', default: false }, list: { type: 'boolean', default: false } },
    strict: true,
  });
  const mediaDir = resolve(process.env.GRIDWATCH_MEDIA_DIR ?? join(ROOT, '..', 'shared', 'media'));
  const t0 = Date.now();
  const { detectors, close } = await openRecheckDetectors();
  try {
    const { cases, notes } = await buildRecheckSet({
      mediaDir,
      async personBox(png) {
        const alert = recheckAlert('ref', []);
        const f = await photoRecheckFrame(alert, png, 0);
        const r = await detectors.pool.infer({
          cameraId: 'eval-ref',
          rgb: f.rgb,
          width: f.width,
          height: f.height,
        });
        if (r.status !== 'done') return null;
        const best = r.objects.filter((o) => o.label === 'person').sort((a, b) => b.score - a.score)[0];
        return best ? { ...best.box, label: 'person', score: best.score } : null;
      },
    });
    const results = await runCases(detectors, cases);
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify(
          results.map(({ photo: _p, ...r }) => r),
          null,
          1,
        )}\n`,
      );
      return 0;
    }
    if (values.list)
      for (const r of results)
        process.stdout.write(
          `${r.truth === 'present' ? 'THERE' : 'GONE '} ${r.modelPresent ? 'reopen' : 'close '} ${r.present ? 'reopen' : 'close '} ${r.score.toFixed(2)} view ${r.sameView.toFixed(2)} ${r.id}\n`,
        );
    const l = loadavg();
    process.stdout.write(
      `${new Date().toISOString().slice(0, 10)}, ${cpus().length}× ${cpus()[0]?.model ?? '?'}, load ${l.map((x) => x.toFixed(2)).join(' ')}, ${results.length} photos in ${((Date.now() - t0) / 1000).toFixed(0)} s\n\n`,
    );
    for (const n of notes) process.stdout.write(`note: ${n}\n`);
    process.stdout.write(
      `### Model verdict only (main before the view check)\n\n${table(results, false)}\n\n`,
    );
    process.stdout.write(
      `### With the view check (SAME_VIEW_MIN ${SAME_VIEW_MIN})\n\n${table(results, true)}\n\n`,
    );
    process.stdout.write(
      `### View similarity to the camera frame (min / median / max)\n\n${simTable(results)}\n`,
    );
    return 0;
  } finally {
    await close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`eval-photo-recheck: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
