/**
 * The footage evaluation behind `npm run eval`: the labelled scenarios of eval/footage.yaml run
 * through the real pipeline (analyzeVideo: motion gate, model pool, tracker, the camera's rules,
 * raise-time re-check) with each model, and the alerts it raises are scored against the labels.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { CameraSchema, DetectorUseSchema, ZoneSchema } from '../core/contracts/camera-schema.js';
import type { LoadedCamera } from '../core/contracts/loaded-camera.js';
import { LIMITS, readConfigText } from '../core/config/read-config-text.js';
import { parseYamlConfig } from '../core/config/yaml-config.js';
import { zodToInputIssues, zodIssues } from '../core/config/zod-issues.js';
import { createEvidenceStore } from '../core/evidence/evidence-store.js';
import { Codes, ConfigError, GridwatchError } from '../core/errors.js';
import { analyzeVideo, type AnalyzedEvent } from '../features/detectors/pipeline/analyze-video.js';
import type { DetectorRig } from './eval-rig.js';

const execFileP = promisify(execFile);

const Seconds = z.number().min(0).max(86_400);
const Unit = z.number().min(0).max(1);

export const ExpectedAlertSchema = z
  .strictObject({
    rule: z.string().min(1).describe('Finding type the alert must have'),
    zone: z.string().min(1).nullable().describe('Zone id the alert must be in (null: camera-wide)'),
    what: z.string().min(1).max(200).describe('What a person sees there (for the report)'),
    raise: z
      .tuple([Seconds, Seconds])
      .refine(([a, b]) => a <= b, 'from ≤ to')
      .describe('Seconds of video [from, to] within which the alert must be raised'),
    region: z
      .tuple([Unit, Unit, Unit, Unit])
      .optional()
      .describe(
        '[x1, y1, x2, y2]: the centre of the alert’s first box must lie inside (two objects in one zone)',
      ),
  })
  .describe('An alert a person judging the footage expects');
export type ExpectedAlert = z.infer<typeof ExpectedAlertSchema>;

export const ScenarioSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .describe('Scenario id (also the camera id)'),
    clip: z
      .string()
      .regex(/^[^/\\]+$/, 'a file name in the media folder, no path')
      .describe('File name in GRIDWATCH_MEDIA_DIR (default ../shared/media); never copied'),
    mirror: z
      .boolean()
      .default(false)
      .describe('Mirror the clip left-right (and every x of zones and regions)'),
    defaultModelOnly: z
      .boolean()
      .default(false)
      .describe('Run with the default model only (pixel heuristics, where the model only masks)'),
    camera: z
      .strictObject({
        samplingIntervalSec: z.number().min(0.2).max(60).describe('Seconds between sampled frames'),
        detectors: z.array(DetectorUseSchema).min(1).describe('Rules, as in a camera file'),
        zones: z.array(ZoneSchema).default([]).describe('Zones, as in a camera file'),
      })
      .describe('The camera: the parts of a camera file that decide detection'),
    expect: z.array(ExpectedAlertSchema).describe('Alerts expected; none for a negative scenario'),
  })
  .describe('One camera over one clip, with the alerts it should raise');
export type Scenario = z.infer<typeof ScenarioSchema>;

export const EvalLabelsSchema = z
  .strictObject({ scenarios: z.array(ScenarioSchema).min(1).describe('The scenarios') })
  .describe('Ground truth for npm run eval');
export type EvalLabels = z.infer<typeof EvalLabelsSchema>;

/** Reads and checks the label file; a ConfigError names file, line and field. */
export async function loadLabels(file: string): Promise<EvalLabels> {
  const abs = resolve(file);
  const read = await readConfigText(abs, LIMITS.yamlBytes, 'eval labels');
  if (!read.ok) throw new ConfigError(`eval labels ${abs} cannot be used`, [read.issue]);
  const parsed = parseYamlConfig(abs, read.text);
  if (parsed.issues.length) throw new ConfigError(`eval labels ${abs} are not valid YAML`, parsed.issues);
  const r = EvalLabelsSchema.safeParse(parsed.data, { reportInput: true });
  if (!r.success)
    throw new ConfigError(`eval labels ${abs} have errors`, zodToInputIssues(abs, r.error, parsed.locate));
  const ids = new Set<string>();
  r.data.scenarios.forEach((s, i) => {
    if (ids.has(s.id))
      throw new ConfigError(`eval labels ${abs} have errors`, [
        {
          source: abs,
          ...parsed.locate(['scenarios', i, 'id']),
          path: `scenarios[${i}].id`,
          expected: 'a unique id',
          found: JSON.stringify(s.id),
          message: `duplicate scenario id ${JSON.stringify(s.id)}`,
        },
      ]);
    ids.add(s.id);
  });
  return r.data;
}

const mirrorX = (p: [number, number]): [number, number] => [1 - p[0], p[1]];

/** The scenario's camera, as the config store would load it (mirrored with the clip). */
export function scenarioCamera(s: Scenario, model: string | null): LoadedCamera {
  const zones = s.camera.zones.map((z) => (s.mirror ? { ...z, polygon: z.polygon.map(mirrorX) } : z));
  const r = CameraSchema.safeParse({
    id: s.id,
    name: `eval ${s.id}`,
    source: { kind: 'file', path: s.clip },
    location: { lon: 120.15, lat: 30.28 },
    samplingIntervalSec: s.camera.samplingIntervalSec,
    detectors: s.camera.detectors,
    zones,
    ...(model ? { model } : {}),
  });
  if (!r.success)
    throw new GridwatchError(
      Codes.GW_CONFIG_INVALID,
      `scenario ${s.id}: ${zodIssues(s.id, r.error)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}`,
    );
  return {
    ...r.data,
    file: 'eval/footage.yaml',
    line: 1,
    baseDir: process.cwd(),
    wgs84: { lon: 120.15, lat: 30.28 },
  };
}

export interface AlertVerdict {
  alert: Pick<AnalyzedEvent, 'type' | 'zone' | 'raisedAt' | 'start' | 'end' | 'trackIds' | 'score'>;
  /** Index in scenario.expect, or null. */
  matched: number | null;
  verdict: 'tp' | 'duplicate' | 'unexpected';
}

export interface ScenarioScore {
  scenario: string;
  model: string;
  clip: string;
  videoSec: number;
  framesSampled: number;
  framesInferred: number;
  wallMs: number;
  alerts: AlertVerdict[];
  /** Expected entries no alert matched. */
  missed: number[];
  /** Per rule the camera runs. */
  rules: Record<string, { tp: number; fp: number; fn: number }>;
}

function boxCentre(e: Pick<AnalyzedEvent, 'boxes'>): [number, number] | null {
  const b = e.boxes[0];
  return b ? [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2] : null;
}

function fits(s: Scenario, x: ExpectedAlert, e: AnalyzedEvent): boolean {
  if (x.rule !== e.type || x.zone !== e.zone) return false;
  if (e.raisedAt < x.raise[0] || e.raisedAt > x.raise[1]) return false;
  if (!x.region) return true;
  const c = boxCentre(e);
  if (!c) return false;
  const [x1, y1, x2, y2] = s.mirror ? [1 - x.region[2], x.region[1], 1 - x.region[0], x.region[3]] : x.region;
  return c[0] >= x1 && c[0] <= x2 && c[1] >= y1 && c[1] <= y2;
}

/**
 * Scores the raised alerts (events the live gateway would have raised) against the labels:
 * each alert takes the first unmatched expected entry it fits; one that fits only entries
 * already taken is a duplicate (an alert storm), one that fits none is unexpected.
 */
export function scoreScenario(
  s: Scenario,
  events: readonly AnalyzedEvent[],
): Pick<ScenarioScore, 'alerts' | 'missed' | 'rules'> {
  const taken = new Set<number>();
  const alerts: AlertVerdict[] = [];
  const raised = events.filter((e) => e.raised).sort((a, b) => a.raisedAt - b.raisedAt);
  for (const e of raised) {
    const fitting = s.expect.map((x, i) => (fits(s, x, e) ? i : -1)).filter((i) => i >= 0);
    const free = fitting.find((i) => !taken.has(i));
    if (free !== undefined) taken.add(free);
    alerts.push({
      alert: {
        type: e.type,
        zone: e.zone,
        raisedAt: e.raisedAt,
        start: e.start,
        end: e.end,
        trackIds: e.trackIds,
        score: Math.round(e.score * 100) / 100,
      },
      matched: free ?? fitting[0] ?? null,
      verdict: free !== undefined ? 'tp' : fitting.length ? 'duplicate' : 'unexpected',
    });
  }
  const missed = s.expect.map((_, i) => i).filter((i) => !taken.has(i));
  const rules: ScenarioScore['rules'] = {};
  const row = (r: string) => (rules[r] ??= { tp: 0, fp: 0, fn: 0 });
  for (const d of s.camera.detectors) row(d.rule);
  for (const a of alerts) row(a.alert.type)[a.verdict === 'tp' ? 'tp' : 'fp']++;
  for (const i of missed) row(s.expect[i]!.rule).fn++;
  return { alerts, missed, rules };
}

export interface RunEvalOptions {
  labels: EvalLabels;
  rig: DetectorRig;
  mediaDir: string;
  /** Model plugins to compare; the first is the default model's name for defaultModelOnly scenarios. */
  models: string[];
  /** Only these scenario ids (all when empty). */
  only?: string[];
  logger: Logger;
  onScenario?: (s: ScenarioScore) => void;
}

/** Runs every scenario with every model (defaultModelOnly scenarios with models[0] only). */
export async function runEval(o: RunEvalOptions): Promise<ScenarioScore[]> {
  const scenarios = o.labels.scenarios.filter((s) => !o.only?.length || o.only.includes(s.id));
  const unknown = (o.only ?? []).filter((id) => !o.labels.scenarios.some((s) => s.id === id));
  if (unknown.length)
    throw new GridwatchError(
      Codes.GW_ARGS,
      `--scenario: no scenario ${unknown.map((u) => JSON.stringify(u)).join(', ')}`,
    );
  const tmp = await mkdtemp(join(tmpdir(), 'gw-eval-'));
  const evidence = createEvidenceStore({ dir: join(tmp, 'evidence') });
  const mirrored = new Map<string, string>();
  const out: ScenarioScore[] = [];
  try {
    for (const s of scenarios) {
      let video = join(o.mediaDir, s.clip);
      if (s.mirror) {
        let m = mirrored.get(s.clip);
        if (!m) {
          // A derived clip in the temp folder, removed at the end (footage is never copied
          // into the project).
          m = join(tmp, `mirror-${s.clip}.mp4`);
          await execFileP('ffmpeg', [
            '-nostdin',
            '-v',
            'error',
            '-i',
            video,
            '-an',
            '-vf',
            'hflip',
            '-c:v',
            'libx264',
            '-preset',
            'veryfast',
            '-crf',
            '18',
            m,
          ]);
          mirrored.set(s.clip, m);
        }
        video = m;
      }
      for (const model of s.defaultModelOnly ? o.models.slice(0, 1) : o.models) {
        const camera = scenarioCamera(s, model);
        const issues = o.rig.plugins.validateCamera(camera);
        if (issues.length)
          throw new GridwatchError(
            Codes.GW_CONFIG_INVALID,
            `scenario ${s.id}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
          );
        const r = await analyzeVideo({
          video,
          camera,
          config: o.rig.config,
          plugins: o.rig.plugins,
          pool: o.rig.pool,
          evidence,
          logger: o.logger,
          // A fresh registry per run: the pipeline registers its own metrics.
          metrics: new Registry(),
        });
        const score: ScenarioScore = {
          scenario: s.id,
          model,
          clip: s.mirror ? `${s.clip} (mirrored)` : s.clip,
          videoSec: r.durationSec,
          framesSampled: r.framesSampled,
          framesInferred: r.framesInferred,
          wallMs: r.wallMs,
          ...scoreScenario(s, r.events),
        };
        out.push(score);
        o.onScenario?.(score);
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return out;
}

export interface RuleSummary {
  model: string;
  rule: string;
  scenarios: number;
  videoSec: number;
  expected: number;
  alerts: number;
  tp: number;
  fp: number;
  fn: number;
  /** null: no alert raised (precision undefined). */
  precision: number | null;
  /** null: nothing expected (recall undefined). */
  recall: number | null;
  /** False alerts per camera-hour of video the rule watched. */
  fpPerCameraHour: number;
}

export function summarise(scores: readonly ScenarioScore[]): RuleSummary[] {
  const m = new Map<string, RuleSummary>();
  for (const s of scores) {
    for (const [rule, c] of Object.entries(s.rules)) {
      const k = `${s.model}|${rule}`;
      const r =
        m.get(k) ??
        ({
          model: s.model,
          rule,
          scenarios: 0,
          videoSec: 0,
          expected: 0,
          alerts: 0,
          tp: 0,
          fp: 0,
          fn: 0,
          precision: null,
          recall: null,
          fpPerCameraHour: 0,
        } satisfies RuleSummary);
      r.scenarios++;
      r.videoSec += s.videoSec;
      r.tp += c.tp;
      r.fp += c.fp;
      r.fn += c.fn;
      m.set(k, r);
    }
  }
  for (const r of m.values()) {
    r.expected = r.tp + r.fn;
    r.alerts = r.tp + r.fp;
    r.precision = r.alerts ? r.tp / r.alerts : null;
    r.recall = r.expected ? r.tp / r.expected : null;
    r.fpPerCameraHour = r.videoSec ? r.fp / (r.videoSec / 3_600) : 0;
  }
  return [...m.values()].sort((a, b) => a.rule.localeCompare(b.rule) || a.model.localeCompare(b.model));
}

/** The issue's targets (issue 10): precision and recall at least 0.9 for these rules. */
export const EVAL_TARGETS: Readonly<Record<string, number>> = { illegal_parking: 0.9, loitering: 0.9 };

/**
 * What misses the targets for one model (the configured one, in CI): a rule with a target and
 * no expected alert in the set counts as a miss too, so a label file cannot drop it silently.
 */
export function missedTargets(
  rows: readonly RuleSummary[],
  model: string,
  targets: Readonly<Record<string, number>> = EVAL_TARGETS,
): string[] {
  const out: string[] = [];
  for (const [rule, min] of Object.entries(targets)) {
    const r = rows.find((x) => x.model === model && x.rule === rule);
    if (!r || r.expected === 0) {
      out.push(`${rule} [${model}]: no labelled event in the set`);
      continue;
    }
    if ((r.precision ?? 0) < min) out.push(`${rule} [${model}]: precision ${f2(r.precision)} < ${min}`);
    if ((r.recall ?? 0) < min) out.push(`${rule} [${model}]: recall ${f2(r.recall)} < ${min}`);
  }
  return out;
}

const f2 = (v: number | null) => (v === null ? '–' : v.toFixed(2));

/** Markdown: one row per model and rule. */
export function summaryTable(rows: readonly RuleSummary[]): string {
  const head =
    '| rule | model | scenarios | video (s) | expected | alerts | TP | FP | FN | precision | recall | false alerts per camera-hour |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const body = rows.map(
    (r) =>
      `| ${r.rule} | ${r.model} | ${r.scenarios} | ${Math.round(r.videoSec)} | ${r.expected} | ${r.alerts} | ${r.tp} | ${r.fp} | ${r.fn} | ${f2(r.precision)} | ${f2(r.recall)} | ${r.fpPerCameraHour.toFixed(0)}${r.fp === 0 ? ` (< ${(3 / (r.videoSec / 3_600)).toFixed(0)} at 95%)` : ''} |`,
  );
  return [head, ...body].join('\n');
}

/** Markdown: one row per scenario and model, with every alert's verdict. */
export function scenarioTable(scores: readonly ScenarioScore[], labels: EvalLabels): string {
  const head =
    '| scenario | clip | model | sampled / inferred | alerts (raised at s: verdict) | missed | wall (s) |\n| --- | --- | --- | --- | --- | --- | --- |';
  const body = scores.map((s) => {
    const sc = labels.scenarios.find((x) => x.id === s.scenario)!;
    const alerts = s.alerts.length
      ? s.alerts
          .map(
            (a) =>
              `${a.alert.type}@${a.alert.raisedAt}: ${a.verdict === 'tp' ? sc.expect[a.matched!]!.what : a.verdict}`,
          )
          .join('; ')
      : 'none';
    const missed = s.missed.length ? s.missed.map((i) => sc.expect[i]!.what).join('; ') : '–';
    return `| ${s.scenario} | ${s.clip} | ${s.model} | ${s.framesSampled} / ${s.framesInferred} | ${alerts} | ${missed} | ${(s.wallMs / 1000).toFixed(1)} |`;
  });
  return [head, ...body].join('\n');
}
