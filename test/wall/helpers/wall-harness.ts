import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Alert } from '../../../core/contracts/alert.js';
import type { AlertService } from '../../../core/contracts/alert-service.js';
import type { CameraDirectory } from '../../../core/contracts/camera-directory.js';
import type { Finding, FindingTypeInfo } from '../../../core/contracts/finding.js';
import type { GridIndex } from '../../../core/contracts/grid-index.js';
import type { LoadedCamera } from '../../../core/contracts/loaded-camera.js';
import { createLogger } from '../../../core/logger.js';
import { BUILTIN_TYPES, buildGateway, type Gateway } from '../../../app/build-gateway.js';
import {
  readPluginTypes,
  type CreateDetectorsOptions,
  type Detectors,
  type PluginStatus,
} from '../../../features/detectors/index.js';
import { EVENT_TYPE_INFOS } from '../../../features/events/event-schemas.js';
import type { Ingest } from '../../../features/ingest/ingest.js';
import type { Wall } from '../../../features/wall/create-wall.js';
import { hashPassword } from '../../../features/wall/password-hash.js';
import type { UserConfig } from '../../../features/wall/wall-config.js';
import type { z } from 'zod';
import type { ForwardTargetSchema } from '../../../features/dispatcher/dispatcher-config.js';
import type { Dispatcher } from '../../../features/dispatcher/dispatcher.js';
import { idleDetectors } from '../../helpers/idle-detectors.js';
import { startTestRedis } from '../../helpers/redis.js';
import { ARTIFACTS_DIR, mediaPath, vtestH264 } from '../../helpers/media.js';
import { startRtspServer, type RtspServer } from '../../helpers/rtsp-server.js';

export const GRID_FILE = new URL('../fixtures/grids.geojson', import.meta.url).pathname;
export const PASSWORD = 'Gw-test-密码-1';

export const USERS: Array<Omit<UserConfig, 'passwordHash'>> = [
  { username: 'admin', displayName: '管理员', role: 'admin', scope: '3301' },
  { username: 'zhangwei', displayName: '张伟', role: 'operator', scope: '330101' },
  { username: 'lina', displayName: '李娜', role: 'operator', scope: '330101' },
  { username: 'wangqiang', displayName: '王强', role: 'operator', scope: '330102' },
  { username: 'zhaomin', displayName: '赵敏', role: 'viewer', scope: '330101' },
  { username: 'beishan', displayName: '孙丽', role: 'operator', scope: '330101002' },
  { username: 'chenjie', displayName: '陈杰', role: 'operator', scope: '330102' },
];

/**
 * The finding types the harness gateway serves, in the gateway's order: its built-in ones, the
 * event kinds' and the plugin manifests' (each labelled once, where it is raised).
 */
export const TYPE_INFOS: FindingTypeInfo[] = [
  ...BUILTIN_TYPES,
  ...EVENT_TYPE_INFOS,
  ...(await readPluginTypes({ pluginDirs: [] }, process.cwd())),
];

/** Plugin status the admin page shows: one enabled, one whose manifest is broken (loader's shape). */
const PLUGIN_STATUS: PluginStatus[] = [
  {
    name: 'parking',
    version: '1.0.0',
    dir: 'features/detectors/plugins/parking',
    kind: 'rule',
    status: 'enabled',
    findingTypes: ['illegal_parking'],
    error: null,
  },
  {
    name: 'vending',
    version: '0.3.0',
    dir: 'features/detectors/plugins/vending',
    kind: null,
    status: 'disabled',
    findingTypes: ['street_vending'],
    error: { code: 'GW_PLUGIN_MANIFEST', message: 'gridwatch-plugin.json: entry missing', at: 0 },
  },
];

/** Real evidence frames: stills of vtest.avi (street scene with the parked van) as JPEG. */
export function evidenceFrames(): Buffer[] {
  const dir = join(ARTIFACTS_DIR, 'wall-evidence');
  mkdirSync(dir, { recursive: true });
  return [5, 20, 40, 60].map((sec) => {
    const out = join(dir, `vtest-${sec}.jpg`);
    if (!existsSync(out)) {
      execFileSync('ffmpeg', [
        '-y',
        '-loglevel',
        'error',
        '-ss',
        String(sec),
        '-i',
        mediaPath('vtest.avi'),
        '-frames:v',
        '1',
        '-q:v',
        '4',
        out,
      ]);
    }
    return readFileSync(out);
  });
}

export interface LogSink {
  lines: string[];
  text(): string;
}
export function logSink(): { stream: Writable; sink: LogSink } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, sink: { lines, text: () => lines.join('\n') } };
}

const zoneYaml = `    zones:
      - id: z1
        name: 禁停区
        polygon: [[0.5, 0], [1, 0], [1, 0.5], [0.5, 0.5]]
        rules: [illegal_parking]
`;
const cameraYaml = (id: string, name: string, url: string, lon: number, lat: number, grid: string) =>
  `  - id: ${id}
    name: ${name}
    source: { kind: rtsp, url: '${url}' }
    location: { lon: ${lon}, lat: ${lat} }
    gridCode: '${grid}'
    samplingIntervalSec: 10
${zoneYaml}`;

/**
 * The harness's camera files, written where gateway.yaml's `cameras.dirs` points (plus `tiles`
 * cameras cam-tile-01… in 东风街道 for the split wall).
 */
async function writeCameraFiles(rtsp: RtspServer, dir: string, tiles = 0): Promise<void> {
  await mkdir(join(dir, 'cameras'), { recursive: true });
  await writeFile(
    join(dir, 'cameras', 'wall-test.yaml'),
    'cameras:\n' +
      cameraYaml('cam-df-01', '东风路与解放路口', rtsp.url('df01'), 120.02, 30.02, '330101001001001') +
      cameraYaml('cam-df-02', '东风菜市场北门', rtsp.url('df02'), 120.07, 30.02, '330101001001002') +
      // Points at a path the RTSP server does not serve: offline with a reason.
      cameraYaml('cam-bs-01', '北山公园南门', rtsp.url('no-such-stream'), 120.02, 30.22, '330101002001001') +
      cameraYaml('cam-bj-01', '滨江大道观景台', rtsp.url('bj01'), 120.22, 30.02, '330102001001001') +
      Array.from({ length: tiles }, (_, i) => {
        const n = String(i + 1).padStart(2, '0');
        return `  - id: cam-tile-${n}
    name: 东风街道视频点 ${n}
    source: { kind: rtsp, url: '${rtsp.url(`tile${n}`)}' }
    location: { lon: ${(120.02 + i * 0.001).toFixed(3)}, lat: 30.02 }
    gridCode: '330101001001001'
    samplingIntervalSec: 30
`;
      }).join(''),
  );
  // A file with one camera the gateway rejects (its source URL, line 12), for the admin page.
  await writeFile(
    join(dir, 'cameras', 'east.yaml'),
    [
      '# East county: a camera that does not pass validation.',
      '# The admin page lists it with file, line and field;',
      '# the gateway runs every other camera as before.',
      '#',
      '# (Comment lines keep the bad URL on line 12.)',
      '#',
      'cameras:',
      '  - id: cam-bad',
      '    name: 东风路 坏地址',
      '    source:',
      '      kind: rtsp',
      "      url: 'http://192.0.2.1/stream'",
      '    location: { lon: 120.03, lat: 30.03 }',
      '',
    ].join('\n'),
  );
}

export interface Harness {
  /** The gateway under test, built by app/build-gateway.ts like production's. */
  gateway: Gateway;
  url: string;
  /** The wall's data directory (holds wall-session.key). */
  dataDir: string;
  redisUrl: string;
  grids: GridIndex;
  wall: Wall;
  alerts: AlertService;
  cameras: CameraDirectory;
  dispatcher: Dispatcher;
  ingest: Ingest;
  logs: LogSink;
  /** The camera entries ingest runs (h.ingest.update() with a changed copy restarts one). */
  cameraList: LoadedCamera[];
  /** Submits a finding to the real dispatcher and resolves with the alert it creates. */
  inject(p: {
    cameraId: string;
    type?: string;
    at?: number;
    zoneId?: string | null;
    /** Normalised boxes (default: one truck box near the van of vtest.avi). */
    boxes?: Finding['boxes'];
  }): Promise<Alert>;
  /** Resolves when an alert change for `alertId` reaches the notifier (after an action). */
  nextChange(alertId: string): Promise<Alert>;
  login(username: string): Promise<{ token: string; csrf: string; cookie: string }>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    logLevel?: string;
    /** Wraps the dispatcher's AlertService as the wall sees it (e.g. one whose own scope check is broken). */
    wrapAlerts?: (real: AlertService) => AlertService;
    /** Forwarding targets (gateway.yaml `forwarding:`); none by default. */
    forwarding?: Array<z.input<typeof ForwardTargetSchema>>;
    /** Extra dispatcher settings (e.g. a short forwardBackoff). */
    dispatcher?: Record<string, unknown>;
    /** Extra live cameras cam-tile-01… in 东风街道 (one clip fanned out), for the split wall. */
    tileCameras?: number;
    /** gateway.yaml `wall:` section (e.g. map tiles); none by default. */
    wall?: Record<string, unknown>;
    /** workers.yaml text (the grid-worker roster); with it, gateway.yaml names the file. */
    workers?: string;
    /** Wall users besides USERS (e.g. grid workers' accounts), with the harness password. */
    extraUsers?: Array<Omit<UserConfig, 'passwordHash'>>;
    /** Replaces the idle detectors (e.g. the real model pool for 二次识别 on photos). */
    detectors?: (o: CreateDetectorsOptions) => Promise<Detectors>;
  } = {},
): Promise<Harness> {
  const redis = await startTestRedis();
  const dir = await mkdtemp(join(tmpdir(), 'gw-wall-'));
  const { stream, sink } = logSink();
  const logger = createLogger({ level: opts.logLevel ?? 'debug', destination: stream });
  const frames = evidenceFrames();
  const hash = await hashPassword(PASSWORD);
  const rtsp = await startRtspServer({
    clips: { df01: vtestH264(), df02: vtestH264(), bj01: mediaPath('car-detection.mp4') },
    ...(opts.tileCameras
      ? {
          fanout: {
            clip: vtestH264(),
            paths: Array.from(
              { length: opts.tileCameras },
              (_, i) => `tile${String(i + 1).padStart(2, '0')}`,
            ),
          },
        }
      : {}),
  });
  await writeCameraFiles(rtsp, dir, opts.tileCameras);
  const users = [...USERS, ...(opts.extraUsers ?? [])].map(
    (u) =>
      `  - { username: ${u.username}, displayName: ${u.displayName}, role: ${u.role}, scope: '${u.scope}', passwordHash: '${hash}' }`,
  );
  await writeFile(
    join(dir, 'gateway.yaml'),
    [
      'http: { host: 127.0.0.1, port: 0 }',
      'dataDir: .',
      'timezone: Asia/Shanghai',
      'cameras: { dirs: [./cameras] }',
      `grids: { file: ${JSON.stringify(GRID_FILE)} }`,
      'auth: { sessionTtlMin: 60, loginAttempts: 5, loginWindowSec: 300 }',
      'users:',
      ...users,
      // JSON is YAML: the settings as given, merged over the harness's dedup keys.
      `dispatcher: ${JSON.stringify({
        dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone', 'track'] } },
        ...opts.dispatcher,
      })}`,
      `forwarding: ${JSON.stringify(opts.forwarding ?? [])}`,
      ...(opts.wall ? [`wall: ${JSON.stringify(opts.wall)}`] : []),
      ...(opts.workers !== undefined ? ['workers: { file: ./workers.yaml }'] : []),
      'ingest:',
      '  liveView: { publicPath: /media, idleStopSec: 30, tokenTtlSec: 300 }',
      '',
    ].join('\n'),
  );

  if (opts.workers !== undefined) await writeFile(join(dir, 'workers.yaml'), opts.workers);

  // inject() and nextChange() wait on the alert changes the gateway relays to its wall.
  const waiters = new Map<string, (a: Alert) => void>();
  const waitFor = (key: string, what: string): Promise<Alert> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        waiters.delete(key);
        reject(new Error(`no alert change for ${what} within 15 s`));
      }, 15_000);
      waiters.set(key, (a) => {
        clearTimeout(t);
        resolve(a);
      });
    });

  let gw: Gateway;
  try {
    gw = await buildGateway({
      config: join(dir, 'gateway.yaml'),
      roles: ['ingest', 'detect', 'dispatch', 'wall'],
      redisUrl: redis.url,
      logger,
      seams: {
        detectors: opts.detectors ?? idleDetectors({ plugins: PLUGIN_STATUS }),
        ...(opts.wrapAlerts ? { wallAlerts: opts.wrapAlerts } : {}),
        observe: {
          alertChanged(a) {
            for (const key of [`track:${a.trackIds.join(',')}`, `id:${a.id}`]) {
              const w = waiters.get(key);
              if (w) {
                waiters.delete(key);
                w(a);
              }
            }
          },
        },
      },
    });
  } catch (err) {
    await rtsp.close();
    await redis.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const { dispatcher, evidence } = gw;
  const ingest = gw.ingest!;
  const wall = gw.wall!;
  const url = gw.url!;
  let seq = 0;

  return {
    gateway: gw,
    url,
    dataDir: dir,
    redisUrl: redis.url,
    get grids() {
      return gw.config.grids();
    },
    wall,
    alerts: dispatcher.alerts,
    cameras: ingest.directory,
    dispatcher,
    ingest,
    logs: sink,
    get cameraList() {
      return gw.config.cameras();
    },
    async inject(p) {
      const at = p.at ?? Date.now();
      seq += 1;
      const track = `wt-${process.pid}-${seq}-${at}`;
      const rel = await evidence.put(`wall-${track}`, frames[seq % frames.length] as Buffer, at);
      const f: Finding = {
        id: `wall-test-${track}`,
        cameraId: p.cameraId,
        type: p.type ?? 'illegal_parking',
        zoneId: p.zoneId === undefined ? 'z1' : p.zoneId,
        score: 0.62,
        trackIds: [track],
        boxes: p.boxes?.map((b) => ({ ...b, trackId: track })) ?? [
          { x1: 0.62, y1: 0.08, x2: 0.86, y2: 0.3, label: 'truck', score: 0.38, trackId: track },
        ],
        firstSeen: at - 185_000,
        lastSeen: at,
        evidence: { first: rel, latest: rel },
        detector: { plugin: 'wall-test', version: '1.0.0' },
      };
      const created = waitFor(`track:${track}`, `finding ${f.id}`);
      await dispatcher.sink.submit(f);
      return created;
    },
    nextChange(alertId) {
      return waitFor(`id:${alertId}`, `alert ${alertId}`);
    },
    async login(username) {
      const res = await fetch(`${url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: PASSWORD }),
      });
      if (!res.ok) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { token: string; csrfToken: string };
      return { token: body.token, csrf: body.csrfToken, cookie: `gw_session=${body.token}` };
    },
    async close() {
      await gw.close();
      await rtsp.close();
      await redis.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
