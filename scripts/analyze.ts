/**
 * npm run analyze -- --video FILE --camera CAMERA.yaml [--camera-id ID] [--gateway GATEWAY.yaml]
 *                    [--evidence DIR] [--trace] [--interval SEC] [--max-sec SEC] [--no-motion]
 *                    [--workers N] [--plugin-dir DIR]...
 *
 * Runs a video through exactly the pipeline a live camera gets and prints JSON lines on stdout:
 * with --trace one `{"kind":"sample",…}` per sample (detections, tracks, gate decision) as it
 * goes; then one `{"kind":"alert",…}` per alert as the live gateway would raise it (after
 * suppression and the raise-time re-check): raisedAt, start, end (seconds of video), track
 * ids, score, the re-check score, why it was raised, its evidence; then one
 * `{"kind":"summary","summary":true,…}`. --gateway takes the `detectors:` section (model,
 * tracker, motion gate, workers, plugin dirs) and time zone of that gateway.yaml, so a tuned
 * gateway is reproduced offline; the other flags override it. Evidence goes to --evidence DIR
 * (kept) or to a temp folder removed at the end. Exit code 2 on bad input, with one line
 * naming the flag or file (camera-file problems: one line each, with file, line and field).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { readCameraFile } from '../core/config/camera-file.js';
import { createEvidenceStore } from '../core/evidence/evidence-store.js';
import { Codes, formatIssue, GridwatchError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import {
  analyzeVideo,
  probeVideo,
  type AnalyzedFrame,
} from '../features/detectors/pipeline/analyze-video.js';
import { acceptingGrids, openDetectorPlugins } from './eval-rig.js';

const USAGE =
  'usage: npm run analyze -- --video FILE --camera CAMERA.yaml [--camera-id ID] [--gateway GATEWAY.yaml] [--evidence DIR] [--trace] [--interval SEC] [--max-sec SEC] [--no-motion] [--workers N] [--plugin-dir DIR]';

const r3 = (v: number) => Math.round(v * 1000) / 1000;

function sampleLine(f: AnalyzedFrame): string {
  return JSON.stringify({
    kind: 'sample',
    t: f.t,
    gate: f.inferred ? 'inferred' : 'skipped',
    changedCells: f.changedCells,
    detections: f.objects.map((o) => ({
      label: o.label,
      score: r3(o.score),
      box: [r3(o.box.x1), r3(o.box.y1), r3(o.box.x2), r3(o.box.y2)],
    })),
    tracks: f.tracks.map((t) => ({
      id: t.trackId,
      label: t.label,
      score: r3(t.score),
      hits: t.hits,
      missed: t.missed,
      firstSeen: t.firstSeen,
      stationarySince: t.stationarySince,
      box: [r3(t.box.x1), r3(t.box.y1), r3(t.box.x2), r3(t.box.y2)],
    })),
  });
}

function parse() {
  try {
    return parseArgs({
      options: {
        video: { type: 'string' },
        camera: { type: 'string' },
        'camera-id': { type: 'string' },
        gateway: { type: 'string' },
        evidence: { type: 'string' },
        trace: { type: 'boolean', default: false },
        interval: { type: 'string' },
        'max-sec': { type: 'string' },
        'no-motion': { type: 'boolean', default: false },
        workers: { type: 'string' },
        'plugin-dir': { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    // node:util's message names the flag ("Unknown option '--x'").
    throw new GridwatchError(Codes.GW_ARGS, `${(err as Error).message.split('\n')[0]!}; ${USAGE}`);
  }
}

async function main(): Promise<number> {
  const values = parse();
  if (!values.video || !values.camera)
    throw new GridwatchError(Codes.GW_ARGS, `${values.video ? '--camera' : '--video'} is required; ${USAGE}`);
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
  // Cheap checks before the model pool starts.
  if (!existsSync(resolve(values.video)))
    throw new GridwatchError(Codes.GW_VIDEO, `${resolve(values.video)}: no such video file`);
  const logger = createLogger({
    level: process.env.GRIDWATCH_LOG_LEVEL ?? 'warn',
    pretty: false,
    destination: process.stderr,
  });
  const rig = await openDetectorPlugins({
    ...(values.gateway ? { gateway: values.gateway } : {}),
    override: (c) => ({
      ...c,
      pluginDirs: [...c.pluginDirs, ...(values['plugin-dir'] ?? []).map((d) => resolve(d))],
      ...(values['no-motion'] ? { motion: { ...c.motion, enabled: false } } : {}),
      ...(workers ? { workers: Math.round(workers) } : {}),
    }),
    logger,
    metrics: new Registry(),
  });
  let evDir: string | null = null;
  const keep = values.evidence !== undefined;
  try {
    for (const p of rig.plugins.status())
      if (p.error) process.stderr.write(`plugin ${p.name} disabled: ${p.error.code}: ${p.error.message}\n`);
    const camFile = resolve(values.camera);
    const read = await readCameraFile(camFile, acceptingGrids(), (c) => rig.plugins.validateCamera(c));
    const problems = [...read.fileIssues, ...read.entries.flatMap((e) => e.issues)];
    const wanted = values['camera-id'];
    const valid = read.entries.filter((e) => e.camera);
    if (problems.length) {
      for (const i of problems) process.stderr.write(`${formatIssue(i)}\n`);
      return 2;
    }
    const entries = valid.filter((e) => !wanted || e.id === wanted);
    if (entries.length === 0)
      throw new GridwatchError(
        Codes.GW_ARGS,
        wanted
          ? `--camera-id: no camera ${JSON.stringify(wanted)} in ${camFile} (has: ${valid.map((e) => e.id).join(', ') || 'none'})`
          : `--camera: ${camFile} has no cameras`,
      );
    if (entries.length > 1)
      throw new GridwatchError(
        Codes.GW_ARGS,
        `--camera-id: ${camFile} has ${entries.length} cameras; pick one (${entries.map((e) => e.id).join(', ')})`,
      );
    const camera = entries[0]!.camera!;
    await probeVideo(resolve(values.video));
    // Only now the models load: bad input above is told in about a second.
    const pool = await rig.openPool();
    evDir = keep ? resolve(values.evidence!) : await mkdtemp(join(tmpdir(), 'gw-analyze-'));
    const evidence = createEvidenceStore({ dir: evDir });
    const r = await analyzeVideo({
      video: resolve(values.video),
      camera,
      config: rig.config,
      plugins: rig.plugins,
      pool,
      evidence,
      logger,
      metrics: new Registry(),
      ...(rig.timeZone ? { timeZone: rig.timeZone } : {}),
      ...(interval ? { intervalSec: interval } : {}),
      ...(maxSec ? { maxSec } : {}),
      keepFrames: false,
      ...(values.trace ? { onFrame: (f: AnalyzedFrame) => process.stdout.write(`${sampleLine(f)}\n`) } : {}),
    });
    const alerts = r.events.filter((e) => e.raised).sort((a, b) => a.raisedAt - b.raisedAt);
    for (const e of alerts) {
      const first = r.findings.find((f) => f.id === e.findingIds[0]);
      const last = r.findings.find((f) => f.id === e.findingIds.at(-1));
      const path = (p: string | null | undefined) => (keep && p ? join(evDir!, p) : null);
      process.stdout.write(
        `${JSON.stringify({
          kind: 'alert',
          type: e.type,
          zone: e.zone,
          raisedAt: e.raisedAt,
          start: e.start,
          end: e.end,
          trackIds: e.trackIds,
          score: r3(e.score),
          recheckScore: e.recheckScore === null ? null : r3(e.recheckScore),
          ...(first?.why ? { why: first.why } : {}),
          // The frame the object was first seen in, the frame it was raised on, the newest.
          evidence: {
            firstSeen: path(first?.evidence.firstSeen),
            raised: path(first?.evidence.first),
            latest: path(last?.evidence.latest),
          },
          findingIds: e.findingIds,
        })}\n`,
      );
    }
    process.stdout.write(
      `${JSON.stringify({
        kind: 'summary',
        summary: true,
        video: resolve(values.video),
        camera: camera.id,
        model: camera.model ?? rig.config.model.plugin,
        gateway: values.gateway ? resolve(values.gateway) : null,
        framesSampled: r.framesSampled,
        framesInferred: r.framesInferred,
        alerts: alerts.length,
        // Events a rule reported that were not raised: suppressed, or the re-check saw nothing.
        heldBack: r.events.length - alerts.length,
        // Re-sends of open alerts (fresh last-seen and evidence), not new alerts.
        refreshes: r.findings.length - alerts.length,
        backend: pool.health().backend,
        videoSec: r.durationSec,
        wallSec: Math.round(r.wallMs) / 1000,
        evidenceDir: keep ? evDir : null,
      })}\n`,
    );
    return 0;
  } finally {
    if (evDir && !keep) await rm(evDir, { recursive: true, force: true });
    await rig.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // One line: the catalogue code and the message's first line (a ConfigError's issues follow,
    // one per line, each naming file, line and field).
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${err instanceof GridwatchError ? `${err.code}: ` : ''}${msg}\n`);
    process.exitCode = err instanceof GridwatchError && err.status < 500 ? 2 : 1;
  },
);
