/**
 * Fuzz of the config parsers (issue 14, item 10): camera YAML (parseCameraText, what the parse
 * worker runs), the platform CSV importer (importCamerasCsv) and grid GeoJSON
 * (validateGridData + buildGridIndex). Properties: no parser throws anything but a ConfigError;
 * every issue names the file, a path, what was expected and what was found; no issue carries a
 * secret that was in the input, a stack or an absolute path.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCameraText } from '../../core/config/camera-file.js';
import { ConfigError, type InputIssue } from '../../core/errors.js';
import { buildGridIndex, validateGridData } from '../../core/grid/grid-index.js';
import { importCamerasCsv } from '../../scripts/import-cameras.js';
import { leak } from './reply-check.js';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const SECRET = 'S3CRET-fz-91c7';
const tally = { yaml: 0, csv: 0, geojson: 0, issues: 0 };

afterAll(() => {
  console.log(
    `\nconfig fuzz (seed ${SEED}): inputs tried ${tally.yaml + tally.csv + tally.geojson} (camera YAML ${tally.yaml}, CSV ${tally.csv}, GeoJSON ${tally.geojson}); issues reported ${tally.issues}; crashes 0\n`,
  );
});

function checkIssues(source: string, issues: InputIssue[]): void {
  tally.issues += issues.length;
  for (const i of issues) {
    expect(i.source).toBe(source);
    expect(typeof i.path).toBe('string');
    expect(typeof i.message).toBe('string');
    expect(i.message.length).toBeGreaterThan(0);
    const text = JSON.stringify(i);
    expect(text, text).not.toContain(SECRET);
    expect(leak(text), text).toBeNull();
    // Capped: a line of an issue stays readable whatever the input held.
    expect(text.length, text.slice(0, 200)).toBeLessThan(4_000);
  }
}

const leaf = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('illegal_parking', '330101001001001', 'rtsp', 'file', 'WGS84', 'CGCS2000', 'GCJ02'),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('v'), { maxKeys: 3 }),
  ),
})).v;

const VALID_CAMERA = {
  id: 'cam-1',
  name: '路口',
  source: { kind: 'rtsp', url: 'rtsp://10.1.2.3:554/h264' },
  credentials: { username: 'admin', password: SECRET },
  location: { lon: 120.02, lat: 30.02 },
  gridCode: '330101001001001',
  samplingIntervalSec: 10,
  zones: [
    {
      id: 'z1',
      name: '禁停区',
      polygon: [
        [0, 0],
        [1, 0],
        [1, 1],
      ],
      rules: ['illegal_parking'],
    },
  ],
};

/** A valid camera with one to three fields replaced by any value (or removed) at any depth. */
const mutatedCamera = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'id',
        'name',
        'source',
        'source.kind',
        'source.url',
        'credentials',
        'credentials.password',
        'credentials.username',
        'location',
        'location.lon',
        'location.lat',
        'location.crs',
        'gridCode',
        'samplingIntervalSec',
        'zones',
        'zones.0.polygon',
        'zones.0.rules',
        'zones.0.id',
        'detectors',
        'tags',
        'unknownKey',
      ),
      fc.option(value, { nil: undefined }),
      // What a secret field may hold, well or badly typed: its value must never be echoed.
      fc.constantFrom(
        SECRET,
        [SECRET],
        { value: SECRET },
        `rtsp://admin:${SECRET}@10.1.2.3:554/h264`,
        `rtsp://admin:${SECRET}@`,
        `rtsp://u:${SECRET}@[bad/x`,
      ),
      fc.boolean(),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((edits) => {
    const cam = structuredClone(VALID_CAMERA) as Record<string, unknown>;
    for (const [path, any, secretish, useSecret] of edits) {
      const secretField = ['credentials', 'credentials.password', 'source.url'].includes(path);
      const v =
        secretField &&
        useSecret &&
        (path !== 'source.url' || (typeof secretish === 'string' && secretish.includes('@')))
          ? secretish
          : any;
      const keys = path.split('.');
      let o = cam as Record<string, unknown>;
      for (const k of keys.slice(0, -1)) {
        if (!o[k] || typeof o[k] !== 'object') o[k] = {};
        o = o[k] as Record<string, unknown>;
      }
      o[keys.at(-1)!] = v;
    }
    return cam;
  });

const cameraText = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(mutatedCamera, { minLength: 1, maxLength: 4 })
      .map((cameras) => stringify({ cameras })),
  },
  { weight: 2, arbitrary: value.map((v) => stringify({ cameras: v })) },
  { weight: 2, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'cameras:\n  - &a [*a]\n',
      'a: &a [*a, *a, *a]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\ncameras: [*c]\n',
      'cameras: !!js/function "function(){}"\n',
      'cameras: !!binary aGVsbG8=\n',
      `cameras: ${'['.repeat(3_000)}${']'.repeat(3_000)}\n`,
      'cameras:\n\t- id: x\n',
      'cameras: []\ncameras: []\n',
      `cameras:\n  - { id: a, name: b, credentials: { username: u, password: ${SECRET} }, source: 5 }\n`,
      `${SECRET}\n`,
      '---\ncameras: []\n---\ncameras: []\n',
      'cameras:\n  - <<: *nope\n',
    ),
  },
);

const CSV_HEADERS = [
  '设备编码',
  '名称',
  'RTSP地址',
  'ONVIF地址',
  '用户名',
  '密码',
  '经度',
  '纬度',
  '坐标系',
  '网格编码',
  '标签',
  'extra',
];
const csvCell = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '',
    '34020000001320000001',
    `rtsp://admin:${SECRET}@10.0.0.1/x`,
    `rtsp://%ZZ:${SECRET}@10.0.0.1/x`,
    `rtsp://a%E4:${SECRET}@h/x`,
    '120.5',
    '30.1',
    '999',
    'abc',
    'CGCS2000',
    'GCJ-02',
    'bd09',
    '未知',
    '330101001001001',
    '"',
    '""',
    'a,b',
    '\n',
    'onvif.local:80',
    `http://u:${SECRET}@10.0.0.2/onvif/device_service`,
  ),
  fc.double().map(String),
);
const csvText = fc
  .tuple(
    fc.shuffledSubarray(CSV_HEADERS, { minLength: 3 }),
    fc.array(fc.array(csvCell, { maxLength: 12 }), { maxLength: 6 }),
  )
  .map(([header, rows]) =>
    [header, ...rows]
      .map((r) =>
        r
          .map((c) => (/[",\n]/.test(c) && Math.abs(c.length % 3) !== 1 ? `"${c.replace(/"/g, '""')}"` : c))
          .join(','),
      )
      .join('\n'),
  );

const position = fc.tuple(
  fc.double({ min: 100, max: 130, noNaN: true }),
  fc.double({ min: 20, max: 40, noNaN: true }),
);
const ring = fc
  .array(position, { minLength: 0, maxLength: 6 })
  .map((pts) => (pts.length ? [...pts, pts[0]!] : pts));
const feature = fc.record(
  {
    type: fc.oneof(fc.constant('Feature'), value),
    properties: fc.oneof(
      fc.record(
        {
          code: fc.oneof(
            fc.constantFrom('3301', '330101', '330101001', '330101001001', '330101001001001'),
            fc.string({ maxLength: 16 }),
            value,
          ),
          name: fc.oneof(fc.string({ maxLength: 10 }), value),
          level: fc.oneof(fc.constantFrom('city', 'county', 'township', 'community', 'grid'), value),
          parent: fc.option(fc.constantFrom('3301', '330101', '330101001', '330101001001'), {
            nil: undefined,
          }),
        },
        { requiredKeys: [] },
      ),
      value,
    ),
    geometry: fc.oneof(
      fc.record({ type: fc.constant('Polygon'), coordinates: fc.array(ring, { maxLength: 2 }) }),
      fc.record({
        type: fc.constant('MultiPolygon'),
        coordinates: fc.array(fc.array(ring, { maxLength: 2 }), { maxLength: 2 }),
      }),
      fc.record({ type: fc.constantFrom('Point', 'LineString', 'GeometryCollection'), coordinates: value }),
      value,
    ),
  },
  { requiredKeys: [] },
);
const gridData = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .array(feature, { maxLength: 6 })
      .map((features) => ({ type: 'FeatureCollection', features })),
  },
  { weight: 1, arbitrary: value },
);

describe('config parsers under generated input', () => {
  it('camera YAML: every entry accepted or rejected with located issues, no secret echoed', () => {
    const file = 'cameras/fuzz.yaml';
    fc.assert(
      fc.property(cameraText, (text) => {
        tally.yaml++;
        const r = parseCameraText(file, text, (code) => code.startsWith('3301'));
        checkIssues(file, r.fileIssues);
        for (const e of r.entries) {
          checkIssues(file, e.issues);
          expect(e.camera !== undefined || e.issues.length > 0).toBe(true);
        }
      }),
      { numRuns: 500, seed: SEED },
    );
  });

  it('platform CSV: every bad row reported with its line, no password echoed, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof({ weight: 6, arbitrary: csvText }, { weight: 1, arbitrary: fc.string({ maxLength: 200 }) }),
        fc.boolean(),
        (text, gbk) => {
          tally.csv++;
          const buf = gbk
            ? Buffer.from(new TextEncoder().encode(text)).subarray(0, Math.max(0, text.length - 1))
            : Buffer.from(text);
          const r = importCamerasCsv(buf, 'export.csv', '2026-12');
          checkIssues('export.csv', r.issues);
          for (const f of r.files) expect(JSON.stringify(f)).not.toContain(SECRET);
        },
      ),
      { numRuns: 400, seed: SEED },
    );
  });

  it('grid GeoJSON: bad features left out and reported, the index builds from the rest', () => {
    const file = 'grids/fuzz.geojson';
    fc.assert(
      fc.property(gridData, (data) => {
        tally.geojson++;
        try {
          const r = validateGridData(file, data, () => ({}));
          checkIssues(file, r.issues);
          const index = buildGridIndex(r.features);
          for (const f of r.features) expect(index.get(f.info.code)).toBeDefined();
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          checkIssues(file, err.issues);
        }
      }),
      { numRuns: 400, seed: SEED },
    );
  });
});
