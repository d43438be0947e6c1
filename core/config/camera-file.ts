import { dirname } from 'node:path';
import { z } from 'zod';
import type { GridIndex } from '../contracts/grid-index.js';
import type { LoadedCamera } from '../contracts/loaded-camera.js';
import type { InputIssue } from '../errors.js';
import { toWgs84 } from '../geo/crs.js';
import { findSelfIntersection, ringArea, type Pt } from '../geo/geometry.js';
import { CameraSchema, type CameraConfig } from '../contracts/camera-schema.js';
import { LIMITS, readConfigText } from './read-config-text.js';
import { parseYamlConfig } from './yaml-config.js';
import { formatPath, issuePusher, zodToInputIssues, type Locate, type PathKey } from './zod-issues.js';

export type ValidateCamera = (cam: CameraConfig) => InputIssue[];

export interface CameraEntryResult {
  index: number;
  line: number;
  /** The entry's id when it has a usable one, even if the entry is invalid. */
  id: string | null;
  camera?: LoadedCamera;
  issues: InputIssue[];
}

export interface CameraFileResult {
  file: string;
  /** Problems that make the whole file unusable (unreadable, not YAML, wrong top level). */
  fileIssues: InputIssue[];
  entries: CameraEntryResult[];
}

const TopSchema = z
  .strictObject({
    site: z.string().max(200).optional(),
    cameras: z.array(z.unknown()),
  })
  .describe('Top level of a camera file');

const isCode = (v: unknown): v is string =>
  typeof v === 'string' && /^(\d{4}|\d{6}|\d{9}|\d{12}|\d{15})$/.test(v);
const isPolygon = (v: unknown): v is Pt[] =>
  Array.isArray(v) &&
  v.length >= 3 &&
  v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && typeof p[1] === 'number');

/**
 * Checks the schema cannot express (known grid codes, simple zone polygons, unique zone ids).
 * Runs on the raw entry, even when the schema already failed, so one pass reports everything.
 */
function semanticIssues(
  source: string,
  raw: unknown,
  prefix: PathKey[],
  locate: Locate,
  hasGrid: (code: string) => boolean,
): InputIssue[] {
  const out: InputIssue[] = [];
  if (!raw || typeof raw !== 'object') return out;
  const cam = raw as Record<string, unknown>;
  const add = issuePusher(source, locate, prefix, out);
  if (isCode(cam.gridCode) && !hasGrid(cam.gridCode)) {
    add(
      ['gridCode'],
      'a code in the grid file',
      cam.gridCode,
      `grid code ${cam.gridCode} is not in the grid file`,
    );
  }
  if (!Array.isArray(cam.zones)) return out;
  const zoneIds = new Map<string, number>();
  cam.zones.forEach((zr: unknown, zi) => {
    if (!zr || typeof zr !== 'object') return;
    const z = zr as Record<string, unknown>;
    if (typeof z.id === 'string') {
      const prev = zoneIds.get(z.id);
      if (prev !== undefined)
        add(
          ['zones', zi, 'id'],
          'a zone id unique within the camera',
          `${z.id} (also zones[${prev}])`,
          'duplicate zone id',
        );
      else zoneIds.set(z.id, zi);
    }
    if (isPolygon(z.polygon)) {
      const x = findSelfIntersection(z.polygon);
      if (x)
        add(
          ['zones', zi, 'polygon'],
          'a simple polygon',
          `edges ${x[0]} and ${x[1]} cross or touch`,
          'zone polygon intersects itself',
        );
      else if (ringArea(z.polygon) === 0) {
        add(
          ['zones', zi, 'polygon'],
          'a polygon with an area',
          'all points on one line',
          'zone polygon has no area',
        );
      }
    }
    if (isCode(z.gridCode) && !hasGrid(z.gridCode)) {
      add(
        ['zones', zi, 'gridCode'],
        'a code in the grid file',
        z.gridCode,
        `grid code ${z.gridCode} is not in the grid file`,
      );
    }
  });
  return out;
}

/** Reads one camera YAML file and validates each entry on its own (on the calling thread). */
export async function readCameraFile(
  file: string,
  grids: GridIndex,
  validateCamera: ValidateCamera | undefined,
): Promise<CameraFileResult> {
  const read = await readConfigText(file, LIMITS.yamlBytes, 'camera file');
  if (!read.ok) return { file, fileIssues: [read.issue], entries: [] };
  return validateCameraText(file, read.text, grids, validateCamera);
}

/** validateCameraText in one go: parse (parseCameraText), then finish each entry. */
export function validateCameraText(
  file: string,
  text: string,
  grids: GridIndex,
  validateCamera: ValidateCamera | undefined,
): CameraFileResult {
  const parsed = parseCameraText(file, text, (code) => grids.get(code) !== undefined);
  return {
    file,
    fileIssues: parsed.fileIssues,
    entries: parsed.entries.map((e) => finishCameraEntry(file, e, grids, validateCamera)),
  };
}

/** A camera entry after the parts that need no plugin and no grid geometry (worker side). */
export interface ParsedCameraEntry {
  index: number;
  line: number;
  id: string | null;
  /** Schema-valid and semantically checked, with WGS-84 coordinates; plugin checks still to run. */
  camera?: CameraConfig & { wgs84: { lon: number; lat: number } };
  issues: InputIssue[];
  /**
   * Line and column of every node under the camera's `detectors`, by path relative to the
   * camera (`detectors[0].options.minDwellSec`): plugin issues point there without the YAML
   * document, which stays in the worker.
   */
  positions?: Record<string, [number, number]>;
}

export interface ParsedCameraFile {
  file: string;
  fileIssues: InputIssue[];
  entries: ParsedCameraEntry[];
}

/**
 * Parses and validates a camera file's text as far as possible without plugins or the grid
 * geometry: YAML, the schema, grid codes (`hasGrid`), zone polygons. Runs in the config parse
 * worker. At most `maxIssues` issues are listed per file; the rest are counted in one more issue.
 */
export function parseCameraText(
  file: string,
  text: string,
  hasGrid: (code: string) => boolean,
  maxIssues: number = LIMITS.issuesPerFile,
): ParsedCameraFile {
  const parsed = parseYamlConfig(file, text);
  if (parsed.issues.length)
    return { file, fileIssues: capIssues(file, parsed.issues, maxIssues), entries: [] };
  if (parsed.data === null || parsed.data === undefined) {
    // Refused rather than read as "no cameras": an editor's half-written save would otherwise
    // drop every camera of the file for a moment.
    const issue: InputIssue = {
      source: file,
      line: 1,
      column: 1,
      path: '',
      expected: 'a mapping with a cameras: list (write `cameras: []` for none)',
      found: 'an empty file',
      message: 'camera file is empty',
    };
    return { file, fileIssues: [issue], entries: [] };
  }
  const top = TopSchema.safeParse(parsed.data, { reportInput: true });
  if (!top.success)
    return {
      file,
      fileIssues: capIssues(file, zodToInputIssues(file, top.error, parsed.locate), maxIssues),
      entries: [],
    };
  let budget = maxIssues;
  const entries = top.data.cameras.map((raw, i): ParsedCameraEntry => {
    const prefix: PathKey[] = ['cameras', i];
    const line = parsed.locate(prefix).line ?? 1;
    const rawId = raw && typeof raw === 'object' ? (raw as Record<string, unknown>).id : undefined;
    const id = typeof rawId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(rawId) ? rawId : null;
    const r = CameraSchema.safeParse(raw, { reportInput: true });
    const semantic = semanticIssues(file, raw, prefix, parsed.locate, hasGrid);
    const issues = r.success
      ? semantic
      : [...zodToInputIssues(file, r.error, parsed.locate, prefix), ...semantic];
    if (issues.length || !r.success) {
      // Every rejected entry keeps at least its first issue, so it still says why.
      const keep = Math.max(1, budget);
      budget = Math.max(0, budget - issues.length);
      return { index: i, line, id, issues: capIssues(file, byPosition(issues), keep, prefix) };
    }
    const cam = r.data;
    return {
      index: i,
      line,
      id,
      camera: { ...cam, wgs84: toWgs84(cam.location.lon, cam.location.lat, cam.location.crs) },
      issues: [],
      positions: parsed.positionsUnder([...prefix, 'detectors'], prefix.length),
    };
  });
  return { file, fileIssues: [], entries };
}

/** The main-thread part: plugin checks (validateCamera) and the grid the camera stands in. */
export function finishCameraEntry(
  file: string,
  e: ParsedCameraEntry,
  grids: GridIndex,
  validateCamera: ValidateCamera | undefined,
): CameraEntryResult {
  const { index, line, id } = e;
  if (!e.camera) return { index, line, id, issues: e.issues };
  const { wgs84, ...cam } = e.camera;
  const issues: InputIssue[] = [];
  if (validateCamera) {
    for (const vi of validateCamera(cam)) {
      const rel = vi.path ? pathFromDotted(vi.path) : [];
      issues.push({
        ...vi,
        source: file,
        ...positionOf(e, rel),
        path: formatPath(['cameras', index, ...rel]),
      });
    }
  }
  if (issues.length) return { index, line, id, issues: byPosition(issues) };
  // Omitted gridCode: the grid the camera stands in (left unset outside every grid).
  const gridCode = cam.gridCode ?? grids.lookup(wgs84.lon, wgs84.lat)?.code;
  const camera: LoadedCamera = {
    ...cam,
    ...(gridCode === undefined ? {} : { gridCode }),
    file,
    line,
    baseDir: dirname(file),
    wgs84,
  };
  return { index, line, id, camera, issues: [] };
}

/** The deepest recorded node on `rel` (a missing option is reported at its parent), else the entry's line. */
function positionOf(e: ParsedCameraEntry, rel: PathKey[]): { line?: number; column?: number } {
  for (let n = rel.length; n > 0; n--) {
    const p = e.positions?.[formatPath(rel.slice(0, n))];
    if (p) return { line: p[0], column: p[1] };
  }
  return { line: e.line };
}

/**
 * At most `max` issues; the rest are counted in one more issue, so a file with 50,000 unknown
 * keys gives a readable list (and a log line of bounded size) instead of 50,000 lines.
 */
export function capIssues(
  source: string,
  issues: InputIssue[],
  max: number,
  prefix: readonly PathKey[] = [],
): InputIssue[] {
  if (issues.length <= max) return issues;
  const rest = issues.length - max;
  return [
    ...issues.slice(0, max),
    {
      source,
      ...(issues[max]?.line === undefined ? {} : { line: issues[max]!.line }),
      path: formatPath(prefix),
      expected: `at most ${max} issues listed`,
      found: `${rest} more`,
      message: `${rest} more issue${rest === 1 ? '' : 's'} not listed`,
    },
  ];
}

/** Issues in reading order, so a long list reads top to bottom like the file. */
function byPosition(issues: InputIssue[]): InputIssue[] {
  return issues
    .map((i, k) => ({ i, k }))
    .sort((a, b) => (a.i.line ?? 0) - (b.i.line ?? 0) || (a.i.column ?? 0) - (b.i.column ?? 0) || a.k - b.k)
    .map((x) => x.i);
}

/** `detectors[0].options.minDwellSec` → ['detectors', 0, 'options', 'minDwellSec']. */
export function pathFromDotted(p: string): PathKey[] {
  const out: PathKey[] = [];
  for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[1] !== undefined) out.push(m[1]);
  }
  return out;
}
