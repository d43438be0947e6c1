/**
 * npm run eval -- [--labels eval/footage.yaml] [--models ssd-mobilenet-v2,centernet]
 *                 [--scenario ID]... [--gateway config/gateway.yaml] [--write] [--json]
 *
 * Runs the labelled footage scenarios through the real pipeline with each model and prints
 * precision and recall per rule and model (markdown), then per scenario. --write puts both
 * tables, with machine, date, load and command, between the eval markers of docs/detectors.md
 * and bench/RESULTS.md. Footage is read from GRIDWATCH_MEDIA_DIR (default ../shared/media).
 * Exit code 2 on bad input, with a line naming the flag or file.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { Codes, ConfigError, GridwatchError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { openDetectorRig } from './eval-rig.js';
import {
  EVAL_TARGETS,
  loadLabels,
  missedTargets,
  runEval,
  scenarioTable,
  summarise,
  summaryTable,
} from './eval-lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const START = '<!-- eval:start (npm run eval -- --write) -->';
const END = '<!-- eval:end -->';

async function writeBetweenMarkers(file: string, text: string): Promise<void> {
  const old = await readFile(file, 'utf8');
  const a = old.indexOf(START);
  const b = old.indexOf(END);
  if (a < 0 || b < a) throw new GridwatchError(Codes.GW_ARGS, `--write: ${file} has no eval markers`);
  await writeFile(file, `${old.slice(0, a + START.length)}\n${text}\n${old.slice(b)}`);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        labels: { type: 'string', default: join(ROOT, 'eval', 'footage.yaml') },
        models: { type: 'string' },
        scenario: { type: 'string', multiple: true },
        gateway: { type: 'string' },
        write: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        check: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    throw new GridwatchError(Codes.GW_ARGS, (err as Error).message);
  }
  const mediaDir = resolve(process.env.GRIDWATCH_MEDIA_DIR ?? join(ROOT, '..', 'shared', 'media'));
  if (!existsSync(mediaDir))
    throw new GridwatchError(Codes.GW_ARGS, `GRIDWATCH_MEDIA_DIR: no folder ${mediaDir}`);
  const labels = await loadLabels(values.labels);
  for (const s of labels.scenarios)
    if (!existsSync(join(mediaDir, s.clip)))
      throw new GridwatchError(
        Codes.GW_ARGS,
        `${values.labels}: scenario ${s.id}: clip ${s.clip} not in ${mediaDir}`,
      );
  const logger = createLogger({
    level: process.env.GRIDWATCH_LOG_LEVEL ?? 'warn',
    pretty: false,
    destination: process.stderr,
  });
  const rig = await openDetectorRig({
    ...(values.gateway ? { gateway: values.gateway } : {}),
    logger,
    metrics: new Registry(),
  });
  try {
    const known = new Set(rig.pool.health().models.map((m) => m.name));
    // Default: the configured model first (the pixel-rule scenarios run with it only), then
    // the other built-in.
    const models = values.models
      ? values.models.split(',').map((m) => m.trim())
      : [...new Set([rig.config.model.plugin, 'ssd-mobilenet-v2', 'centernet'])].filter((m) => known.has(m));
    const bad = models.filter((m) => !known.has(m));
    if (bad.length)
      throw new GridwatchError(
        Codes.GW_ARGS,
        `--models: unknown model ${bad.join(', ')} (loaded: ${[...known].join(', ')})`,
      );
    const t0 = performance.now();
    const load0 = loadavg()[0]!;
    const scores = await runEval({
      labels,
      rig,
      mediaDir,
      models,
      only: values.scenario ?? [],
      logger,
      onScenario: (s) =>
        process.stderr.write(
          `${s.scenario} [${s.model}]: ${s.alerts.length} alerts, ${s.alerts.filter((a) => a.verdict === 'tp').length} right, ${s.missed.length} missed (${(s.wallMs / 1000).toFixed(1)} s)\n`,
        ),
    });
    const rows = summarise(scores);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ rules: rows, scenarios: scores })}\n`);
    } else {
      const args = process.argv.slice(2).filter((a) => a !== '--write');
      const cmd = `npm run eval${args.length ? ` -- ${args.join(' ')}` : ''}`;
      const text = [
        `Measured ${new Date().toISOString().slice(0, 16)}Z on ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, backend ${rig.pool.health().backend}, load average ${load0.toFixed(1)} at the start, ${((performance.now() - t0) / 1000).toFixed(0)} s in all. Command: \`${cmd}\`.`,
        '',
        summaryTable(rows),
        '',
        scenarioTable(scores, labels),
      ].join('\n');
      process.stdout.write(`${text}\n`);
      if (values.write) {
        await writeBetweenMarkers(join(ROOT, 'docs', 'detectors.md'), text);
        await writeBetweenMarkers(join(ROOT, 'bench', 'RESULTS.md'), text);
      }
    }
    // --check (CI): the configured model must meet the issue's targets (EVAL_TARGETS).
    if (values.check) {
      const misses = missedTargets(rows, rig.config.model.plugin);
      for (const m of misses) process.stderr.write(`eval target missed: ${m}\n`);
      if (misses.length) return 1;
      process.stderr.write(
        `eval targets met by ${rig.config.model.plugin}: ${Object.keys(EVAL_TARGETS).join(', ')}\n`,
      );
    }
    return 0;
  } finally {
    await rig.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // One line (a ConfigError lists its issues, one per line, each naming file, line and field).
    const msg =
      err instanceof ConfigError
        ? err.message
        : err instanceof Error
          ? err.message.split('\n')[0]!
          : String(err);
    process.stderr.write(`${err instanceof GridwatchError ? `${err.code}: ` : ''}${msg}\n`);
    process.exitCode = err instanceof GridwatchError && err.status < 500 ? 2 : 1;
  },
);
