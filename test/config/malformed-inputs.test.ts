import { truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGatewayConfigStore } from '../../app/gateway-config-store.js';
import type { CameraConfig } from '../../core/contracts/camera-schema.js';
import { createConfigParser } from '../../core/config-store/config-parser.js';
import { ConfigError, type InputIssue } from '../../core/errors.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { cameraYaml, captureLogger, makeConfigDir } from './fixtures.js';

interface Expect {
  file: string;
  line?: number;
  column?: number;
  path: string;
  message: string;
}

interface Case {
  name: string;
  cameras?: Record<string, string | Buffer>;
  gateway?: string;
  setup?: (dir: string) => Promise<void>;
  /** The whole file is rejected, so even its good entry is not loaded. */
  fileRejected?: boolean;
  /** The whole config is refused (ConfigError from load) rather than one entry rejected. */
  throws?: boolean;
  issues: Expect[];
  /** Extra checks on the first issue (expected/found wording, secrets hidden). */
  check?: (i: InputIssue) => void;
}

const GOOD = cameraYaml('good-1');
const cam = (body: string) => ({ 'c.yaml': `cameras:\n${GOOD}${body}` });
/** An entry starting on line 6 of c.yaml (after the good camera's 4 lines). */
const entry = (lines: string) => `  - id: bad-1\n${lines}`;
const BASE = `    name: 坏摄像机\n    source: { kind: rtsp, url: "rtsp://127.0.0.1/x" }\n    location: { lon: 112.15, lat: 23.1 }\n`;

const knownRules = new Set(['illegal_parking', 'street_vending']);
function validateCamera(c: CameraConfig): InputIssue[] {
  return c.detectors.flatMap((d, i) =>
    knownRules.has(d.rule)
      ? []
      : [
          {
            source: '',
            path: `detectors[${i}].rule`,
            expected: [...knownRules].join(' or '),
            found: d.rule,
            message: `unknown rule ${d.rule}`,
          },
        ],
  );
}

const CASES: Case[] = [
  {
    name: 'wrong type',
    cameras: cam(
      entry(
        `    name: 42\n    source: { kind: rtsp, url: "rtsp://127.0.0.1/x" }\n    location: { lon: 112.15, lat: 23.1 }\n`,
      ),
    ),
    issues: [{ file: 'c.yaml', line: 7, column: 11, path: 'cameras[1].name', message: 'wrong type' }],
    check: (i) => expect([i.expected, i.found]).toEqual(['a string', 'number 42']),
  },
  {
    name: 'missing required field',
    cameras: cam(
      entry(
        `    source: { kind: rtsp, url: "rtsp://127.0.0.1/x" }\n    location: { lon: 112.15, lat: 23.1 }\n`,
      ),
    ),
    issues: [
      { file: 'c.yaml', line: 6, column: 5, path: 'cameras[1].name', message: 'required field is missing' },
    ],
  },
  {
    name: 'unknown key',
    cameras: cam(entry(`${BASE}    nmae: x\n`)),
    issues: [{ file: 'c.yaml', line: 10, column: 5, path: 'cameras[1].nmae', message: 'unknown key "nmae"' }],
  },
  {
    name: 'unknown source kind',
    cameras: cam(
      entry(
        `    name: n\n    source: { kind: hls, url: "http://x/y.m3u8" }\n    location: { lon: 112.15, lat: 23.1 }\n`,
      ),
    ),
    issues: [
      { file: 'c.yaml', line: 8, column: 21, path: 'cameras[1].source.kind', message: 'unknown kind' },
    ],
    check: (i) =>
      expect([i.expected, i.found]).toEqual(['one of "rtsp", "onvif", "snapshot", "file"', '"hls"']),
  },
  {
    name: 'longitude out of range',
    cameras: cam(
      entry(
        `    name: n\n    source: { kind: rtsp, url: "rtsp://127.0.0.1/x" }\n    location: { lon: 200, lat: 23.1 }\n`,
      ),
    ),
    issues: [{ file: 'c.yaml', line: 9, column: 22, path: 'cameras[1].location.lon', message: 'too big' }],
    check: (i) => expect([i.expected, i.found]).toEqual(['a number <= 136', 'number 200']),
  },
  {
    name: 'latitude out of range',
    cameras: cam(
      entry(
        `    name: n\n    source: { kind: rtsp, url: "rtsp://127.0.0.1/x" }\n    location: { lon: 112.1, lat: -95 }\n`,
      ),
    ),
    issues: [{ file: 'c.yaml', line: 9, column: 34, path: 'cameras[1].location.lat', message: 'too small' }],
  },
  {
    name: 'unknown coordinate system',
    cameras: cam(
      entry(
        `    name: n\n    source: { kind: rtsp, url: "rtsp://127.0.0.1/x" }\n    location: { lon: 112.1, lat: 23.1, crs: GCJ-02 }\n`,
      ),
    ),
    issues: [
      {
        file: 'c.yaml',
        line: 9,
        column: 45,
        path: 'cameras[1].location.crs',
        message: 'not an allowed value',
      },
    ],
  },
  {
    name: 'URL with inline credentials (never echoed)',
    cameras: cam(
      entry(
        `    name: n\n    source: { kind: rtsp, url: "rtsp://admin:Hik12345@10.0.0.9/ch1" }\n    location: { lon: 112.1, lat: 23.1 }\n`,
      ),
    ),
    issues: [
      {
        file: 'c.yaml',
        line: 8,
        column: 32,
        path: 'cameras[1].source.url',
        message: 'credentials in the URL are not allowed; put them under credentials: (env or secrets file)',
      },
    ],
    check: (i) => {
      expect(i.found).toBe('"rtsp://***@10.0.0.9/ch1"');
      expect(i.expected).toBe('a URL without user:password@');
    },
  },
  {
    name: 'snapshot URL with inline credentials',
    cameras: cam(
      entry(
        `    name: n\n    source: { kind: snapshot, url: "http://u:p4ss@10.0.0.9/snap.jpg" }\n    location: { lon: 112.1, lat: 23.1 }\n`,
      ),
    ),
    issues: [
      {
        file: 'c.yaml',
        line: 8,
        column: 36,
        path: 'cameras[1].source.url',
        message: 'credentials in the URL are not allowed; put them under credentials: (env or secrets file)',
      },
    ],
    check: (i) => expect(i.found).not.toContain('p4ss'),
  },
  {
    name: 'plain-text password (never echoed)',
    cameras: cam(entry(`${BASE}    credentials: { username: admin, password: Hik12345 }\n`)),
    issues: [
      {
        file: 'c.yaml',
        line: 10,
        column: 47,
        path: 'cameras[1].credentials.password',
        message: 'wrong form',
      },
    ],
    check: (i) => {
      expect(i.found).toBe('a plain string (value hidden)');
      expect(i.expected).toBe(
        'a secret reference {env: NAME} or {file: PATH, key?: NAME}, never the value itself',
      );
    },
  },
  {
    name: 'bad secret reference: lower-case env name',
    cameras: cam(entry(`${BASE}    credentials: { username: admin, password: { env: cam_pw } }\n`)),
    issues: [
      {
        file: 'c.yaml',
        line: 10,
        column: 54,
        path: 'cameras[1].credentials.password.env',
        message: 'wrong format',
      },
    ],
    check: (i) =>
      expect([i.expected, i.found]).toEqual([
        'an environment variable name in UPPER_SNAKE_CASE',
        'a plain string (value hidden)',
      ]),
  },
  {
    name: 'bad secret reference: env and file at once',
    cameras: cam(
      entry(`${BASE}    credentials: { username: admin, password: { env: CAM_PW, file: s.yaml } }\n`),
    ),
    issues: [
      {
        file: 'c.yaml',
        line: 10,
        column: 47,
        path: 'cameras[1].credentials.password',
        message: 'wrong form',
      },
    ],
  },
  {
    name: 'self-intersecting zone polygon',
    cameras: cam(
      entry(
        `${BASE}    zones:\n      - { id: z1, name: 禁停区, rules: [illegal_parking], polygon: [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]] }\n`,
      ),
    ),
    issues: [
      {
        file: 'c.yaml',
        line: 11,
        column: 65,
        path: 'cameras[1].zones[0].polygon',
        message: 'zone polygon intersects itself',
      },
    ],
    check: (i) => expect(i.found).toBe('edges 0 and 2 cross or touch'),
  },
  {
    name: 'zone polygon with no area (one point clicked three times)',
    cameras: cam(
      entry(
        `${BASE}    zones:\n      - { id: z1, name: 禁停区, rules: [illegal_parking], polygon: [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]] }\n`,
      ),
    ),
    issues: [
      {
        file: 'c.yaml',
        line: 11,
        column: 65,
        path: 'cameras[1].zones[0].polygon',
        message: 'zone polygon has no area',
      },
    ],
  },
  {
    name: 'zone polygon with two points',
    cameras: cam(
      entry(
        `${BASE}    zones:\n      - { id: z1, name: 禁停区, rules: [illegal_parking], polygon: [[0.1, 0.1], [0.9, 0.9]] }\n`,
      ),
    ),
    issues: [
      { file: 'c.yaml', line: 11, column: 65, path: 'cameras[1].zones[0].polygon', message: 'too small' },
    ],
    check: (i) => expect([i.expected, i.found]).toEqual(['at least 3 items', 'a list of 2']),
  },
  {
    name: 'zone point outside the image',
    cameras: cam(
      entry(
        `${BASE}    zones:\n      - { id: z1, name: 禁停区, rules: [illegal_parking], polygon: [[0.1, 0.1], [1.5, 0.9], [0.1, 0.9]] }\n`,
      ),
    ),
    issues: [
      { file: 'c.yaml', line: 11, column: 79, path: 'cameras[1].zones[0].polygon[1][0]', message: 'too big' },
    ],
  },
  {
    name: 'duplicate zone ids',
    cameras: cam(
      entry(
        `${BASE}    zones:\n      - { id: z1, name: a, rules: [illegal_parking], polygon: [[0, 0], [1, 0], [1, 1]] }\n      - { id: z1, name: b, rules: [illegal_parking], polygon: [[0, 0], [1, 0], [0, 1]] }\n`,
      ),
    ),
    issues: [
      { file: 'c.yaml', line: 12, column: 15, path: 'cameras[1].zones[1].id', message: 'duplicate zone id' },
    ],
  },
  {
    name: 'grid code unknown to the grid file',
    cameras: cam(entry(`${BASE}    gridCode: "441202009009009"\n`)),
    issues: [
      {
        file: 'c.yaml',
        line: 10,
        column: 15,
        path: 'cameras[1].gridCode',
        message: 'grid code 441202009009009 is not in the grid file',
      },
    ],
  },
  {
    name: 'grid code of the wrong length',
    cameras: cam(entry(`${BASE}    gridCode: "12345"\n`)),
    issues: [{ file: 'c.yaml', line: 10, column: 15, path: 'cameras[1].gridCode', message: 'wrong format' }],
    check: (i) => expect(i.expected).toBe('a division or grid code of 4, 6, 9, 12 or 15 digits'),
  },
  {
    name: 'zone grid code unknown',
    cameras: cam(
      entry(
        `${BASE}    zones:\n      - { id: z1, name: a, rules: [x], gridCode: "4413", polygon: [[0, 0], [1, 0], [1, 1]] }\n`,
      ),
    ),
    issues: [
      {
        file: 'c.yaml',
        line: 11,
        column: 50,
        path: 'cameras[1].zones[0].gridCode',
        message: 'grid code 4413 is not in the grid file',
      },
    ],
  },
  {
    name: 'schedule time out of range',
    cameras: cam(entry(`${BASE}    schedules:\n      illegal_parking: [{ start: "25:00", end: "07:00" }]\n`)),
    issues: [
      {
        file: 'c.yaml',
        line: 11,
        column: 34,
        path: 'cameras[1].schedules.illegal_parking[0].start',
        message: 'wrong format',
      },
    ],
    check: (i) => expect([i.expected, i.found]).toEqual(['HH:MM (00:00 to 24:00)', '"25:00"']),
  },
  {
    name: 'schedule weekday 0',
    cameras: cam(
      entry(
        `${BASE}    schedules:\n      illegal_parking: [{ days: [0, 1], start: "07:00", end: "09:00" }]\n`,
      ),
    ),
    issues: [
      {
        file: 'c.yaml',
        line: 11,
        column: 34,
        path: 'cameras[1].schedules.illegal_parking[0].days[0]',
        message: 'too small',
      },
    ],
  },
  {
    name: 'schedule that is not a list',
    cameras: cam(entry(`${BASE}    schedules:\n      illegal_parking: { start: "07:00", end: "09:00" }\n`)),
    issues: [
      {
        file: 'c.yaml',
        line: 11,
        column: 24,
        path: 'cameras[1].schedules.illegal_parking',
        message: 'wrong type',
      },
    ],
    check: (i) => expect(i.expected).toBe('an array'),
  },
  {
    name: 'sampling interval zero',
    cameras: cam(entry(`${BASE}    samplingIntervalSec: 0\n`)),
    issues: [
      { file: 'c.yaml', line: 10, column: 26, path: 'cameras[1].samplingIntervalSec', message: 'too small' },
    ],
  },
  {
    name: 'device id not 20 digits',
    cameras: cam(entry(`${BASE}    deviceId: "4412020000131"\n`)),
    issues: [{ file: 'c.yaml', line: 10, column: 15, path: 'cameras[1].deviceId', message: 'wrong format' }],
    check: (i) => expect(i.expected).toBe('a 20-digit GB/T 28181 device id'),
  },
  {
    name: 'YAML 1.2 "yes" is a string, not a boolean',
    cameras: cam(entry(`${BASE}    enabled: yes\n`)),
    issues: [{ file: 'c.yaml', line: 10, column: 14, path: 'cameras[1].enabled', message: 'wrong type' }],
  },
  {
    name: 'ONVIF port out of range',
    cameras: cam(
      entry(
        `    name: n\n    source: { kind: onvif, host: 10.0.0.9, port: 70000 }\n    location: { lon: 112.1, lat: 23.1 }\n`,
      ),
    ),
    issues: [{ file: 'c.yaml', line: 8, column: 50, path: 'cameras[1].source.port', message: 'too big' }],
  },
  {
    name: 'rule unknown to the detectors (validateCamera hook)',
    cameras: cam(entry(`${BASE}    detectors:\n      - rule: illegal_parkng\n`)),
    issues: [
      {
        file: 'c.yaml',
        line: 11,
        column: 15,
        path: 'cameras[1].detectors[0].rule',
        message: 'unknown rule illegal_parkng',
      },
    ],
  },
  {
    name: 'several problems in one entry are all reported',
    cameras: cam(
      entry(
        `    name: ""\n    source: { kind: rtsp, url: "ftp://x" }\n    location: { lon: 1, lat: 23.1 }\n    tags: [a]\n    zones:\n      - { id: z1, name: a, rules: [x], polygon: [[0, 0], [1, 1], [1, 0], [0, 1]] }\n`,
      ),
    ),
    issues: [
      { file: 'c.yaml', line: 7, column: 11, path: 'cameras[1].name', message: 'too small' },
      { file: 'c.yaml', line: 8, column: 32, path: 'cameras[1].source.url', message: 'wrong format' },
      { file: 'c.yaml', line: 9, column: 22, path: 'cameras[1].location.lon', message: 'too small' },
      {
        file: 'c.yaml',
        line: 12,
        column: 49,
        path: 'cameras[1].zones[0].polygon',
        message: 'zone polygon intersects itself',
      },
    ],
  },
  {
    name: 'duplicate camera id in one file',
    cameras: cam(cameraYaml('good-1')),
    issues: [
      {
        file: 'c.yaml',
        line: 6,
        path: 'cameras[1].id',
        message: expect.stringMatching(
          /^duplicate camera id good-1: already defined at \/.*\/cameras\/c\.yaml:2$/,
        ) as unknown as string,
      },
    ],
  },
  {
    name: 'duplicate camera id across files',
    cameras: { ...cam(''), 'd.yaml': `cameras:\n${cameraYaml('good-1')}` },
    issues: [
      {
        file: 'd.yaml',
        line: 2,
        path: 'id',
        message: expect.stringMatching(
          /^duplicate camera id good-1: already defined at \/.*\/cameras\/c\.yaml:2$/,
        ) as unknown as string,
      },
    ],
  },
  {
    name: 'YAML syntax error',
    cameras: { 'c.yaml': `cameras:\n  - id: x\n    name: "unterminated\n` },
    // The parser notices at the end of input that the quote never closed.
    issues: [{ file: 'c.yaml', line: 4, column: 1, path: '', message: 'Missing closing "quote' }],
  },
  {
    name: 'duplicate YAML key',
    fileRejected: true,
    cameras: { 'c.yaml': `cameras:\n${GOOD}    name: again\n` },
    issues: [{ file: 'c.yaml', line: 6, column: 5, path: '', message: 'Map keys must be unique' }],
  },
  {
    name: 'root is a list, not a mapping',
    cameras: { 'c.yaml': `- id: x\n` },
    issues: [{ file: 'c.yaml', line: 1, column: 1, path: '', message: 'wrong type' }],
  },
  {
    name: 'misspelt top-level key',
    cameras: { 'c.yaml': `camera:\n${GOOD}` },
    fileRejected: true,
    issues: [
      { file: 'c.yaml', line: 1, column: 1, path: 'cameras', message: 'required field is missing' },
      { file: 'c.yaml', line: 1, column: 1, path: 'camera', message: 'unknown key "camera"' },
    ],
  },
  {
    name: 'binary garbage',
    cameras: {
      'c.yaml': Buffer.concat([
        Buffer.from('cameras:\n  - id: x\n  '),
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x1a]),
      ]),
    },
    issues: [
      { file: 'c.yaml', line: 3, column: 7, path: '', message: 'camera file contains binary data, not text' },
    ],
  },
  {
    name: 'NUL bytes',
    cameras: { 'c.yaml': Buffer.concat([Buffer.from('cameras:\n  - id: x'), Buffer.from([0x00, 0x00])]) },
    issues: [
      {
        file: 'c.yaml',
        line: 2,
        column: 10,
        path: '',
        message: 'camera file contains binary data, not text',
      },
    ],
  },
  {
    name: 'GBK-encoded file',
    cameras: {
      'c.yaml': Buffer.concat([
        Buffer.from('cameras:\n  - id: x\n    name: '),
        Buffer.from([0xb6, 0xcb, 0xd6, 0xdd]),
        Buffer.from('\n'),
      ]),
    },
    issues: [
      {
        file: 'c.yaml',
        line: 3,
        column: 11,
        path: '',
        message: 'camera file is not valid UTF-8; re-save it as UTF-8',
      },
    ],
    check: (i) => expect(i.found).toBe('byte 0xb6 that is not UTF-8 (GBK or binary?)'),
  },
  {
    name: 'empty camera file',
    cameras: { 'c.yaml': '# nothing yet\n' },
    issues: [{ file: 'c.yaml', line: 1, column: 1, path: '', message: 'camera file is empty' }],
  },
  {
    name: 'alias bomb (billion laughs)',
    cameras: {
      'c.yaml': [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        ...'bcdefghi'.split('').map((c, i) => {
          const prev = 'abcdefgh'[i]!;
          return `${c}: &${c} [${Array(10).fill(`*${prev}`).join(', ')}]`;
        }),
        'cameras: *i',
        '',
      ].join('\n'),
    },
    fileRejected: true,
    issues: [
      {
        file: 'c.yaml',
        line: 1,
        column: 1,
        path: '',
        message: 'Excessive alias count indicates a resource exhaustion attack',
      },
    ],
  },
  {
    name: 'a 50 MB camera file',
    setup: async (dir) => {
      const f = join(dir, 'cameras', 'huge.yaml');
      await writeFile(f, 'cameras:\n');
      await truncate(f, 50 * 1024 * 1024);
    },
    issues: [
      {
        file: 'huge.yaml',
        path: '',
        message: 'camera file is too large (52428800 bytes); split it into several files',
      },
    ],
    check: (i) => expect([i.expected, i.found]).toEqual(['at most 10 MB', '50.0 MB']),
  },
  {
    name: 'gateway.yaml: every problem at once',
    gateway: `http:\n  port: "8080"\n  hots: 0.0.0.0\ncameras:\n  dirs: [./cameras]\ngrids:\n  file: ./grids/city.geojson\nretention:\n  alertsDays: -1\n`,
    throws: true,
    issues: [
      { file: 'gateway.yaml', line: 2, column: 9, path: 'http.port', message: 'wrong type' },
      { file: 'gateway.yaml', line: 3, column: 3, path: 'http.hots', message: 'unknown key "hots"' },
      { file: 'gateway.yaml', line: 9, column: 15, path: 'retention.alertsDays', message: 'too small' },
    ],
  },
  {
    name: 'gateway.yaml: password hash that is not scrypt',
    gateway: `grids: { file: ./grids/city.geojson }\nusers:\n  - { username: zhangwei, displayName: 张伟, role: operator, scope: "441202", passwordHash: "md5$abc" }\n`,
    throws: true,
    issues: [
      { file: 'gateway.yaml', line: 3, column: 91, path: 'users[0].passwordHash', message: 'wrong format' },
    ],
    check: (i) => expect(i.found).toBe('a plain string (value hidden)'),
  },
  {
    name: 'gateway.yaml: user scope unknown to the grid file',
    gateway: `grids: { file: ./grids/city.geojson }\nusers:\n  - { username: zhangwei, displayName: 张伟, role: operator, scope: "441299", passwordHash: "scrypt$16384$8$1$a$b" }\n`,
    throws: true,
    issues: [
      {
        file: 'gateway.yaml',
        line: 3,
        column: 67,
        path: 'users[0].scope',
        message: 'scope 441299 is not in the grid file',
      },
    ],
  },
  {
    name: 'gateway.yaml: missing camera directory',
    gateway: `cameras: { dirs: [./cameras, ./nowhere] }\ngrids: { file: ./grids/city.geojson }\n`,
    throws: true,
    issues: [
      {
        file: 'nowhere',
        path: 'cameras.dirs',
        message: expect.stringMatching(/^camera directory .*nowhere cannot be read$/) as unknown as string,
      },
    ],
  },
  {
    name: 'gateway.yaml: missing grid file',
    gateway: `grids: { file: ./grids/missing.geojson }\n`,
    throws: true,
    issues: [
      {
        file: 'missing.geojson',
        path: '',
        message: expect.stringMatching(/^grid file .*missing\.geojson does not exist$/) as unknown as string,
      },
    ],
  },
  {
    name: 'gateway.yaml: missing file',
    setup: async (dir) => {
      const { rm } = await import('node:fs/promises');
      await rm(join(dir, 'gateway.yaml'));
    },
    throws: true,
    issues: [
      {
        file: 'gateway.yaml',
        path: '',
        message: expect.stringMatching(
          /^gateway config .*gateway\.yaml does not exist$/,
        ) as unknown as string,
      },
    ],
  },
];

describe('malformed inputs: each gives its exact error', () => {
  // One parse worker for every store of this file (a worker starts in about 0.3 s under tsx).
  const parser = createConfigParser({ logger: captureLogger().logger });
  afterAll(() => parser.close());
  it('has at least 30 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  for (const c of CASES) {
    it(c.name, async () => {
      const tmp = await makeConfigDir({
        ...(c.gateway ? { gateway: c.gateway } : {}),
        cameras: c.cameras ?? {},
      });
      const cap = captureLogger();
      const store = createGatewayConfigStore({
        gatewayFile: tmp.gatewayFile,
        logger: cap.logger,
        metrics: createMetricsRegistry({ defaultMetrics: false }),
        watch: false,
        validateCamera,
        parser,
      });
      try {
        await c.setup?.(tmp.dir);
        let issues: InputIssue[];
        if (c.throws) {
          const err = await store.load().then(
            () => null,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).code).toBe('GW_CONFIG_INVALID');
          issues = (err as ConfigError).issues;
        } else {
          await store.load();
          issues = store.issues();
          // The good camera is still loaded; nothing else is lost.
          if (String(c.cameras?.['c.yaml'] ?? '').includes('good-1') && !c.fileRejected) {
            expect(store.cameras().map((x) => x.id)).toContain('good-1');
          }
          expect(store.rejected().length).toBeGreaterThan(0);
        }
        const got = issues.map((i) => ({
          file: basename(i.source),
          ...(i.line === undefined ? {} : { line: i.line }),
          ...(i.column === undefined ? {} : { column: i.column }),
          path: i.path,
          message: i.message,
        }));
        expect(got).toEqual(c.issues);
        c.check?.(issues[0]!);
        // Secrets in the inputs never reach the log or the messages.
        for (const secret of ['Hik12345', 'p4ss']) {
          expect(cap.text()).not.toContain(secret);
          expect(JSON.stringify(issues)).not.toContain(secret);
          expect(JSON.stringify(store.rejected?.() ?? [])).not.toContain(secret);
        }
      } finally {
        await store.close();
        await tmp.cleanup();
      }
    });
  }
});
