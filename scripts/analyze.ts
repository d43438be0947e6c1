/**
 * npm run analyze -- --video FILE --camera CAMERA.yaml [--camera-id ID] [--evidence DIR]
 *                    [--interval SEC] [--max-sec SEC] [--no-motion] [--workers N]
 *
 * Runs a video through exactly the pipeline a live camera gets and prints one JSON line per
 * finding event, then a summary line. Exit code 2 on bad input (message names file, line, field).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readCameraFile } from '../core/config/camera-file.js';
import type { GridIndex, GridInfo } from '../core/contracts/grid-index.js';
import { createEvidenceStore } from '../core/evidence/evidence-store.js';
import { Codes, formatIssue, GridwatchError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { createMetricsRegistry } from '../core/metrics.js';
import { DetectorsConfigSchema } from '../features/detectors/config/detectors-config.js';
import { loadPlugins } from '../features/detectors/loader/plugin-loader.js';
import { createInferencePool } from '../features/detectors/model/inference-pool.js';
import { analyzeVideo } from '../features/detectors/pipeline/analyze-video.js';

/** Offline analysis routes nothing: any grid code a camera names is accepted as is. */
function acceptingGrids(): GridIndex {
  const info = (code: string): GridInfo => ({
    code,
    name: code,
    level: 'grid',
    parent: null,
    kind: 'offline',
  });
  return {
    size: 0,
    lookup: () => null,
    get: info,
    path: (c) => [info(c)],
    within: () => true,
    children: () => [],
    roots: () => [],
    search: () => [],
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      video: { type: 'string' },
      camera: { type: 'string' },
      'camera-id': { type: 'string' },
      evidence: { type: 'string' },
      interval: { type: 'string' },
      'max-sec': { type: 'string' },
      'no-motion': { type: 'boolean', default: false },
      workers: { type: 'string' },
      'plugin-dir': { type: 'string', multiple: true },
    },
    strict: true,
  });
  if (!values.video || !values.camera) {
    process.stderr.write(
      'usage: npm run analyze -- --video FILE --camera CAMERA.yaml [--camera-id ID] [--evidence DIR] [--interval SEC] [--max-sec SEC] [--no-motion]\n',
    );
    return 2;
  }
  const logger = createLogger({
    level: process.env.GRIDWATCH_LOG_LEVEL ?? 'warn',
    pretty: false,
    destination: process.stderr,
  });
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new GridwatchError(
        Codes.GW_ARGS,
        `--${name}: expected a positive number, found ${JSON.stringify(v)}`,
      );
    return n;
  };
  const interval = num('interval', values.interval);
  const maxSec = num('max-sec', values['max-sec']);
  const workers = num('workers', values.workers);
  const config = DetectorsConfigSchema.parse({
    pluginDirs: (values['plugin-dir'] ?? []).map((d) => resolve(d)),
    motion: { enabled: !values['no-motion'] },
    ...(workers ? { workers: Math.round(workers) } : {}),
  });
  const plugins = await loadPlugins({ config, baseDir: process.cwd(), logger, metrics });
  try {
    for (const p of plugins.status())
      if (p.error) process.stderr.write(`plugin ${p.name} disabled: ${p.error.code}: ${p.error.message}\n`);
    const camFile = resolve(values.camera);
    const read = await readCameraFile(camFile, acceptingGrids(), (c) => plugins.validateCamera(c));
    const problems = [...read.fileIssues, ...read.entries.flatMap((e) => e.issues)];
    const wanted = values['camera-id'];
    const entries = read.entries.filter((e) => e.camera && (!wanted || e.id === wanted));
    if (problems.length || entries.length === 0) {
      for (const i of problems) process.stderr.write(`${formatIssue(i)}\n`);
      if (!problems.length)
        process.stderr.write(`${camFile}: ${wanted ? `no valid camera with id ${wanted}` : 'no cameras'}\n`);
      return 2;
    }
    if (entries.length > 1) {
      process.stderr.write(
        `${camFile}: ${entries.length} cameras; pick one with --camera-id (${entries.map((e) => e.id).join(', ')})\n`,
      );
      return 2;
    }
    const camera = entries[0]!.camera!;
    const evDir = values.evidence ? resolve(values.evidence) : await mkdtemp(join(tmpdir(), 'gw-analyze-'));
    const evidence = createEvidenceStore({ dir: evDir });
    const pool = createInferencePool({
      workers: config.workers,
      backend: config.backend,
      logger,
      metrics,
      // The same model choice as the live gateway: the configured default model plugin.
      model: config.model,
      plugins: plugins.modelPlugins(),
    });
    try {
      await pool.ready();
      const r = await analyzeVideo({
        video: resolve(values.video),
        camera,
        config,
        plugins,
        pool,
        evidence,
        logger,
        metrics,
        ...(interval ? { intervalSec: interval } : {}),
        ...(maxSec ? { maxSec } : {}),
      });
      for (const e of r.events) {
        process.stdout.write(
          `${JSON.stringify({ type: e.type, zone: e.zone, start: e.start, end: e.end, raisedAt: e.raisedAt, trackIds: e.trackIds, score: e.score, evidence: e.evidence.map((p) => join(evDir, p)), findingIds: e.findingIds })}\n`,
        );
      }
      process.stdout.write(
        `${JSON.stringify({ summary: true, video: resolve(values.video), camera: camera.id, framesSampled: r.framesSampled, framesInferred: r.framesInferred, findings: r.events.length, findingsSubmitted: r.findings.length, backend: pool.health().backend, videoSec: r.durationSec, wallSec: Math.round(r.wallMs) / 1000, evidenceDir: evDir })}\n`,
      );
    } finally {
      await pool.close();
    }
    return 0;
  } finally {
    await plugins.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `${err instanceof GridwatchError ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exitCode = err instanceof GridwatchError && err.status < 500 ? 2 : 1;
  },
);
