/**
 * Imports a 雪亮工程 platform camera export (CSV) into camera YAML files.
 *
 *   npx tsx scripts/import-cameras.ts --csv export.csv [--out config/cameras] [--config config/gateway.yaml] [--batch 2026-11]
 *
 * --out defaults to the first camera folder of the gateway config (cameras.dirs); another folder
 * gets a warning, since the gateway reads only those folders (not their subfolders). Every
 * imported camera lacks detectors and zones (the export has none): the report says so.
 *
 * Headers may be Chinese or English (设备编码/deviceId, 名称/name, RTSP地址/rtsp, ONVIF地址/onvif,
 * 用户名/user, 密码/password, 经度/lon, 纬度/lat, 坐标系/crs, 网格编码/gridCode, 标签/tags).
 * UTF-8 with or without BOM; a GBK export (Excel on Chinese Windows) is detected and decoded,
 * and the report says so. Passwords, from a 密码 column or from user:password@ in a URL, are
 * never written: each camera gets `password: { env: CAM_<ID>_PASSWORD }` and the variables to
 * set are listed. Every bad row is reported on stderr (line, column, problem) and left out;
 * the exit code is 1 when any row was bad, 0 otherwise, 2 when the file cannot be read at all.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CameraSchema, type CameraFile } from '../core/contracts/camera-schema.js';
import type { LocationCrs } from '../core/contracts/common-schema.js';
import { describeValue, expectedOf, messageOf } from '../core/config/zod-issues.js';
import { formatIssue, type InputIssue } from '../core/errors.js';
import { redactText, redactUrl } from '../core/util/redact.js';
import { readCsvTable } from './csv-table.js';
import { CAMERAS_PER_FILE, cameraFileYaml } from './gen-cameras.js';

type Field =
  'deviceId' | 'name' | 'rtsp' | 'onvif' | 'user' | 'password' | 'lon' | 'lat' | 'crs' | 'gridCode' | 'tags';

/** Header spellings seen in platform exports, normalised (lower case, no spaces, _ or -). */
const ALIASES: Record<Field, string[]> = {
  deviceId: ['设备编码', '设备编号', '国标编码', '国标id', 'deviceid', 'id', '编码'],
  name: ['名称', '设备名称', '点位名称', '摄像机名称', 'name'],
  rtsp: ['rtsp地址', 'rtspurl', 'rtsp', '视频地址', '取流地址', 'url'],
  onvif: ['onvif地址', 'onvif', 'onvifaddress'],
  user: ['用户名', '用户', 'user', 'username'],
  password: ['密码', 'password', 'pass'],
  lon: ['经度', 'lon', 'lng', 'longitude'],
  lat: ['纬度', 'lat', 'latitude'],
  crs: ['坐标系', '坐标系统', 'crs'],
  gridCode: ['网格编码', '所属网格', '网格代码', 'gridcode', 'grid'],
  tags: ['标签', 'tags', 'tag'],
};
const CRS_ALIASES: Record<string, LocationCrs> = {
  '': 'WGS84',
  wgs84: 'WGS84',
  'wgs-84': 'WGS84',
  gps: 'WGS84',
  gcj02: 'GCJ02',
  'gcj-02': 'GCJ02',
  火星坐标: 'GCJ02',
  国测局: 'GCJ02',
  高德: 'GCJ02',
  bd09: 'BD09',
  'bd-09': 'BD09',
  百度: 'BD09',
  // The national system (Tianditu); kept as CGCS2000, read as WGS84 (docs/integration.md).
  cgcs2000: 'CGCS2000',
  'cgcs-2000': 'CGCS2000',
  国家2000: 'CGCS2000',
  '2000国家大地坐标系': 'CGCS2000',
  天地图: 'CGCS2000',
};

export interface ImportResult {
  files: CameraFile[];
  issues: InputIssue[];
  /** Environment variables the operator must set, one per camera with a password. */
  envVars: { name: string; cameraId: string }[];
  encoding: 'utf-8' | 'gbk';
  rows: number;
}

/**
 * The camera folders a gateway config reads (cameras.dirs, resolved against its folder), or
 * null when the file cannot be read: only to check where imported files go.
 */
export function cameraDirsOf(configFile: string): string[] | null {
  try {
    const doc = parseYaml(readFileSync(configFile, 'utf8')) as { cameras?: { dirs?: unknown } } | null;
    const dirs = doc?.cameras?.dirs;
    if (!Array.isArray(dirs) || !dirs.every((d) => typeof d === 'string')) return null;
    return dirs.map((d: string) => resolve(dirname(configFile), d));
  } catch {
    return null;
  }
}

export function envVarFor(id: string): string {
  return `CAM_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;
}

/** The passwords in one CSV row, as written and as a device code would slug them. */
function rowSecrets(record: readonly string[], passwordCell: string): string[] {
  const out = new Set<string>();
  if (passwordCell) out.add(passwordCell);
  for (const cell of record)
    for (const m of cell.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:([^/@\s]+)@/gi)) out.add(m[1]!);
  for (const s of [...out]) out.add(s.replace(/[^A-Za-z0-9_-]/g, '-'));
  return [...out];
}

export function importCamerasCsv(buf: Buffer, source: string, batch: string): ImportResult {
  const table = readCsvTable(buf, source, ALIASES, (col) => {
    const missing = (['deviceId', 'name', 'lon', 'lat'] as Field[]).filter((f) => !col.has(f));
    if (!col.has('rtsp') && !col.has('onvif')) missing.push('rtsp');
    return missing;
  });
  if (!table.ok) return { files: [], issues: table.issues, envVars: [], encoding: table.encoding, rows: 0 };
  const { header, colName, rows: records } = table;
  const issues: InputIssue[] = [];
  const cameras: CameraFile['cameras'] = [];
  const envVars: ImportResult['envVars'] = [];
  const seen = new Map<string, number>();
  for (const { record, line, get, bad: badRaw, issues: rowIssues } of records) {
    // No value echoed in a report may carry a password: the row's 密码 cell and any
    // user:password@ in any of its cells, also as the device code turns them (a cell holding a
    // URL with a password, in the wrong column, was echoed slugged as the camera id).
    const secrets = rowSecrets(record, get('password'));
    const bad: typeof badRaw = (f, expected, found, message) =>
      badRaw(f, expected, redactText(found, secrets), message);
    if (record.length !== header.length) {
      rowIssues.push({
        source,
        line,
        path: '',
        expected: `${header.length} columns`,
        found: `${record.length}`,
        message: 'wrong number of columns',
      });
    }
    const device = get('deviceId');
    const id = device.replace(/[^A-Za-z0-9_-]/g, '-');
    const crs = CRS_ALIASES[get('crs').toLowerCase()];
    if (!crs)
      bad('crs', 'WGS84, GCJ02, BD09 or CGCS2000', describeValue(get('crs')), 'unknown coordinate system');
    const num = (f: Field) => {
      const v = get(f);
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) {
        bad(f, 'a number', describeValue(v), `${f === 'lon' ? 'longitude' : 'latitude'} is not a number`);
        return NaN;
      }
      return n;
    };
    const lon = num('lon');
    const lat = num('lat');
    // Credentials never stay in a URL: user:password@ is moved to the credentials block.
    let user = get('user');
    let hasPassword = get('password') !== '';
    let src: unknown;
    const rtsp = get('rtsp');
    const onvif = get('onvif');
    if (rtsp) {
      const m = /^(rtsps?:\/\/)([^/@\s]*)@(.*)$/i.exec(rtsp);
      let url = rtsp;
      if (m) {
        const [u, p] = (m[2] ?? '').split(':');
        if (!user && u) {
          try {
            user = decodeURIComponent(u);
          } catch {
            // Only the user part is named: the password after it is never echoed.
            bad(
              'rtsp',
              'a user name in valid percent-encoding',
              describeValue(u),
              'bad user name in the RTSP URL',
            );
          }
        }
        if (p) hasPassword = true;
        url = `${m[1]}${m[3]}`;
      }
      src = { kind: 'rtsp', url, transport: 'tcp' };
    } else if (onvif) {
      const m = /^(?:https?:\/\/)?(?:[^/@\s]*@)?([^/:\s]+)(?::(\d+))?/i.exec(onvif);
      if (m) src = { kind: 'onvif', host: m[1], port: m[2] ? Number(m[2]) : 80, transport: 'tcp' };
      else
        bad(
          'onvif',
          'an ONVIF address (host[:port] or http://host/onvif/device_service)',
          describeValue(redactUrl(onvif)),
          'bad ONVIF address',
        );
    } else {
      bad('rtsp', 'an RTSP URL or an ONVIF address', 'both empty', 'no video source');
    }
    const gridCode = get('gridCode');
    const tags = get('tags')
      .split(/[;；,，|、]/)
      .map((t) => t.trim())
      .filter(Boolean);
    const cam = {
      id,
      ...(/^\d{20}$/.test(device) ? { deviceId: device } : {}),
      name: get('name'),
      source: src,
      ...(user || hasPassword
        ? { credentials: { username: user || 'admin', password: { env: envVarFor(id) } } }
        : {}),
      location: { lon, lat, crs: crs ?? 'WGS84' },
      ...(gridCode ? { gridCode } : {}),
      tags,
    };
    const r = CameraSchema.safeParse(cam, { reportInput: true });
    if (!r.success) {
      // Every problem of the row, once: a field already reported above is not reported again.
      const reported = new Set(rowIssues.map((i) => i.path));
      const fieldOf: Record<string, Field> = {
        id: 'deviceId',
        deviceId: 'deviceId',
        name: 'name',
        location: 'lon',
        gridCode: 'gridCode',
        tags: 'tags',
        source: onvif && !rtsp ? 'onvif' : 'rtsp',
        credentials: 'user',
      };
      for (const i of r.error.issues) {
        const top = String(i.path[0] ?? '');
        const f: Field =
          top === 'location'
            ? i.path[1] === 'lat'
              ? 'lat'
              : i.path[1] === 'crs'
                ? 'crs'
                : 'lon'
            : (fieldOf[top] ?? 'name');
        if (reported.has(colName(f))) continue;
        bad(
          f,
          expectedOf(i),
          describeValue(i.input === undefined ? '' : f === 'rtsp' ? redactUrl(String(i.input)) : i.input),
          messageOf(i),
        );
      }
    }
    if (device && rowIssues.length === 0) {
      const first = seen.get(id);
      if (first !== undefined)
        bad(
          'deviceId',
          'a device code unique in the file',
          device,
          `duplicate device code (first on line ${first})`,
        );
    }
    if (rowIssues.length) {
      issues.push(...rowIssues);
      continue;
    }
    seen.set(id, line);
    if (cam.credentials) envVars.push({ name: envVarFor(id), cameraId: id });
    // Written as given (not r.data) so the files carry no defaults the reader did not choose.
    cameras.push(cam as unknown as CameraFile['cameras'][number]);
  }
  const files: CameraFile[] = [];
  for (let i = 0; i < cameras.length; i += CAMERAS_PER_FILE) {
    files.push({
      site: `${batch} (imported from ${basename(source)})`,
      cameras: cameras.slice(i, i + CAMERAS_PER_FILE),
    });
  }
  return { files, issues, envVars, encoding: table.encoding, rows: records.length };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      csv: { type: 'string' },
      out: { type: 'string' },
      batch: { type: 'string' },
      config: { type: 'string', default: 'config/gateway.yaml' },
    },
  });
  const watched = cameraDirsOf(resolve(values.config!));
  const outDir = values.out ?? watched?.[0];
  if (!values.csv || !outDir) {
    process.stderr.write(
      'usage: import-cameras --csv FILE [--out DIR] [--config gateway.yaml] [--batch NAME]\n',
    );
    process.exit(2);
  }
  const csv = resolve(values.csv);
  const batch = values.batch ?? basename(csv).replace(/\.csv$/i, '');
  let buf: Buffer;
  try {
    buf = readFileSync(csv);
  } catch (err) {
    process.stderr.write(`cannot read ${csv}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
    process.exit(2);
  }
  const r = importCamerasCsv(buf, csv, batch);
  if (r.encoding === 'gbk')
    process.stderr.write(
      `${csv}: not UTF-8; decoded as GBK (a Windows export). Save as UTF-8 to silence this.\n`,
    );
  for (const i of r.issues) process.stderr.write(`${formatIssue(i)}\n`);
  if (r.rows === 0 && r.issues.length) process.exit(2);
  const out = resolve(outDir);
  if (watched && !watched.includes(out)) {
    // The gateway reads only the folders in cameras.dirs (not their subfolders).
    process.stderr.write(
      `warning: ${values.config} reads cameras from ${watched.map((d) => relative(process.cwd(), d) || '.').join(', ')} (cameras.dirs), not from ${relative(process.cwd(), out) || '.'}: ` +
        `the gateway will not see these cameras. Use --out ${relative(process.cwd(), watched[0]!)} or add the folder to cameras.dirs.\n`,
    );
  } else if (!watched) {
    process.stderr.write(
      `warning: ${values.config} not readable: cannot check that the gateway reads ${relative(process.cwd(), out) || '.'} (cameras.dirs)\n`,
    );
  }
  mkdirSync(out, { recursive: true });
  const safeBatch = batch.replace(/[^\p{L}\p{N}_.-]/gu, '-');
  r.files.forEach((f, i) => {
    const file = join(out, `${safeBatch}-${String(i + 1).padStart(3, '0')}.yaml`);
    const envs = r.envVars.filter((e) => f.cameras.some((c) => c.id === e.cameraId)).map((e) => e.name);
    const head =
      `# Imported from ${basename(csv)} (${r.encoding}); batch ${batch}.\n` +
      (envs.length
        ? `# Set these environment variables to the camera passwords:\n${envs.map((e) => `#   ${e}`).join('\n')}\n`
        : '');
    writeFileSync(file, head + cameraFileYaml(f));
  });
  const good = r.files.reduce((n, f) => n + f.cameras.length, 0);
  const badRows = new Set(r.issues.map((i) => i.line)).size;
  process.stdout.write(
    `imported ${good} camera(s) into ${r.files.length} file(s) in ${out}; ${badRows} bad row(s)\n`,
  );
  if (good > 0) {
    // The export has no rules: the cameras stream and show on the wall but raise no alert.
    process.stderr.write(
      `warning: ${good} imported camera(s) have no detectors and no zones: they raise no alert until you add detectors: and zones: (docs/cameras.md)\n`,
    );
  }
  if (r.envVars.length) {
    process.stdout.write(
      `set ${r.envVars.length} password variable(s) before starting the gateway:\n${r.envVars.map((e) => `  ${e.name}`).join('\n')}\n`,
    );
  }
  process.exit(r.issues.length ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
