import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CameraSchema } from '../../../core/contracts/camera-schema.js';
import { resolveSecret } from '../../../core/config/resolve-secret.js';
import type { Alert } from '../../../core/contracts/alert.js';
import type { AlertNotifier, AlertService } from '../../../core/contracts/alert-service.js';
import type { CameraDirectory } from '../../../core/contracts/camera-directory.js';
import type { Finding, FindingTypeInfo } from '../../../core/contracts/finding.js';
import type { GridIndex } from '../../../core/contracts/grid-index.js';
import type { LoadedCamera } from '../../../core/contracts/loaded-camera.js';
import { createEvidenceStore } from '../../../core/evidence/evidence-store.js';
import { loadGridFile } from '../../../core/grid/grid-index.js';
import { IngestConfigSchema } from '../../../features/ingest/ingest-config.js';
import { createIngest, type Ingest } from '../../../features/ingest/ingest.js';
import { createLogger } from '../../../core/logger.js';
import { createMetricsRegistry } from '../../../core/metrics.js';
import { alertLifecycleTable } from '../../../app/alert-lifecycle-table.js';
import { createWall, type Wall } from '../../../features/wall/create-wall.js';
import { hashPassword } from '../../../features/wall/password-hash.js';
import type { UserConfig } from '../../../features/wall/wall-config.js';
import type { z } from 'zod';
import {
  DispatcherConfigSchema,
  ForwardTargetSchema,
} from '../../../features/dispatcher/dispatcher-config.js';
import { createDispatcher, type Dispatcher } from '../../../features/dispatcher/dispatcher.js';
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

export const TYPE_INFOS: FindingTypeInfo[] = [
  { type: 'illegal_parking', zh: '违停', en: 'Illegal parking', color: '#f0883e' },
  { type: 'street_vending', zh: '占道经营', en: 'Street vending', color: '#d2a8ff' },
  { type: 'crowd_gathering', zh: '人员聚集', en: 'Crowd gathering', color: '#58a6ff' },
  { type: 'road_obstruction', zh: '道路障碍', en: 'Road obstruction', color: '#e3b341' },
  { type: 'fire_smoke', zh: '烟火', en: 'Fire or smoke', color: '#ff5c5c' },
  { type: 'camera_offline', zh: '摄像头离线', en: 'Camera offline', color: '#8b949e' },
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

/** Camera entries as the config store would load them (plus `tiles` cameras for the split wall). */
function loadedCameras(rtsp: RtspServer, dir: string, tiles = 0): LoadedCamera[] {
  const entry = (line: number, raw: Record<string, unknown>): LoadedCamera => {
    const c = CameraSchema.parse(raw);
    return {
      ...c,
      file: 'cameras/wall-test.yaml',
      line,
      baseDir: dir,
      wgs84: { lon: c.location.lon, lat: c.location.lat },
    };
  };
  const zone = (gridCode?: string) => [
    {
      id: 'z1',
      name: '禁停区',
      polygon: [
        [0.5, 0],
        [1, 0],
        [1, 0.5],
        [0.5, 0.5],
      ],
      rules: ['illegal_parking'],
      ...(gridCode ? { gridCode } : {}),
    },
  ];
  const tileCams = Array.from({ length: tiles }, (_, i) => {
    const n = String(i + 1).padStart(2, '0');
    return entry(100 + i, {
      id: `cam-tile-${n}`,
      name: `东风街道视频点 ${n}`,
      source: { kind: 'rtsp', url: rtsp.url(`tile${n}`) },
      location: { lon: 120.02 + i * 0.001, lat: 30.02 },
      gridCode: '330101001001001',
      samplingIntervalSec: 30,
    });
  });
  return [
    entry(2, {
      id: 'cam-df-01',
      name: '东风路与解放路口',
      source: { kind: 'rtsp', url: rtsp.url('df01') },
      location: { lon: 120.02, lat: 30.02 },
      gridCode: '330101001001001',
      samplingIntervalSec: 10,
      zones: zone(),
    }),
    entry(9, {
      id: 'cam-df-02',
      name: '东风菜市场北门',
      source: { kind: 'rtsp', url: rtsp.url('df02') },
      location: { lon: 120.07, lat: 30.02 },
      gridCode: '330101001001002',
      samplingIntervalSec: 10,
      zones: zone(),
    }),
    // Points at a path the RTSP server does not serve: offline with a reason.
    entry(16, {
      id: 'cam-bs-01',
      name: '北山公园南门',
      source: { kind: 'rtsp', url: rtsp.url('no-such-stream') },
      location: { lon: 120.02, lat: 30.22 },
      gridCode: '330101002001001',
      samplingIntervalSec: 10,
      zones: zone(),
    }),
    entry(23, {
      id: 'cam-bj-01',
      name: '滨江大道观景台',
      source: { kind: 'rtsp', url: rtsp.url('bj01') },
      location: { lon: 120.22, lat: 30.02 },
      gridCode: '330102001001001',
      samplingIntervalSec: 10,
      zones: zone(),
    }),
    ...tileCams,
  ];
}

export interface Harness {
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
  inject(p: { cameraId: string; type?: string; at?: number; zoneId?: string | null }): Promise<Alert>;
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
  } = {},
): Promise<Harness> {
  const redis = await startTestRedis();
  const dir = await mkdtemp(join(tmpdir(), 'gw-wall-'));
  const { stream, sink } = logSink();
  const logger = createLogger({ level: opts.logLevel ?? 'debug', destination: stream });
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const { index: grids, issues } = await loadGridFile(GRID_FILE);
  if (issues.length) throw new Error(`fixture grid file has issues: ${JSON.stringify(issues)}`);
  const evidence = createEvidenceStore({ dir: join(dir, 'evidence') });
  const frames = evidenceFrames();
  const users: UserConfig[] = [];
  for (const u of USERS) users.push({ ...u, passwordHash: await hashPassword(PASSWORD) });
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
  const cameras = loadedCameras(rtsp, dir, opts.tileCameras);

  // Alerts reach the wall through this tap, which also lets inject() wait for its alert.
  const waiters = new Map<string, (a: Alert) => void>();
  let wall: Wall | null = null;
  const notifier: AlertNotifier = {
    alertChanged(a, kind) {
      wall?.notifier.alertChanged(a, kind);
      for (const key of [`track:${a.trackIds.join(',')}`, `id:${a.id}`]) {
        const w = waiters.get(key);
        if (w) {
          waiters.delete(key);
          w(a);
        }
      }
    },
    suppressionChanged(s, kind) {
      wall?.notifier.suppressionChanged?.(s, kind);
    },
  };
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

  const dispatcher = createDispatcher({
    config: DispatcherConfigSchema.parse({
      dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone', 'track'] } },
      ...opts.dispatcher,
    }),
    forwarding: (opts.forwarding ?? []).map((t) => ForwardTargetSchema.parse(t)),
    redisUrl: redis.url,
    grids: () => grids,
    cameras: () => cameras,
    typeInfo: (t) => TYPE_INFOS.find((x) => x.type === t),
    notifier,
    evidence,
    publicUrl: 'http://127.0.0.1:1',
    baseDir: dir,
    retention: { alertsDays: 180, evidenceDays: 30, evidenceMaxMb: 1024 },
    logger,
    metrics,
  });
  await dispatcher.start();
  const ingest = createIngest({
    config: IngestConfigSchema.parse({
      liveView: { publicPath: '/media', idleStopSec: 30, tokenTtlSec: 300 },
    }),
    timeZone: 'Asia/Shanghai',
    logger,
    metrics,
    frameSize: { width: 320, height: 240 },
    findingSink: dispatcher.sink,
    evidence,
    resolveSecret,
  });
  ingest.update(cameras);

  wall = createWall({
    config: {
      http: { host: '127.0.0.1', port: 0 },
      auth: { sessionTtlMin: 60, loginAttempts: 5, loginWindowSec: 300 },
      users,
      timezone: 'Asia/Shanghai',
    },
    dataDir: dir,
    redisUrl: redis.url,
    alerts: opts.wrapAlerts ? opts.wrapAlerts(dispatcher.alerts) : dispatcher.alerts,
    cameras: ingest.directory,
    grids: () => grids,
    evidence,
    typeInfos: () => TYPE_INFOS,
    lifecycle: alertLifecycleTable(),
    health: {
      ready: async () => ({ ready: true, checks: { redis: { ok: true } } }),
      details: async () => ({ ingest: ingest.stats() }),
    },
    metrics,
    // As app/build-gateway.ts mounts them.
    routers: [
      { path: '/api/platform', router: dispatcher.callbackRouter },
      { path: '/evidence', router: dispatcher.evidenceRouter },
    ],
    liveProxy: { path: '/media', origin: () => ingest.liveOrigin() },
    admin: {
      rejectedCameras: () => [
        {
          file: 'cameras/east.yaml',
          cameraId: 'cam-bad',
          errors: ['cameras/east.yaml:12 cameras[3].source.url: expected an rtsp:// URL'],
        },
      ],
      // Shaped like the plugin loader's status list.
      plugins: () => [
        {
          name: 'parking',
          version: '1.0.0',
          dir: 'features/detectors/plugins/parking',
          status: 'enabled',
          findingTypes: ['illegal_parking'],
          error: null,
        },
        {
          name: 'vending',
          version: '0.3.0',
          dir: 'features/detectors/plugins/vending',
          status: 'disabled',
          findingTypes: ['street_vending'],
          error: { code: 'GW_PLUGIN_MANIFEST', message: 'gridwatch-plugin.json: entry missing', at: 0 },
        },
      ],
    },
    logger,
  });
  const { url } = await wall.start();
  let seq = 0;
  const w = wall;

  return {
    url,
    dataDir: dir,
    redisUrl: redis.url,
    grids,
    wall: w,
    alerts: dispatcher.alerts,
    cameras: ingest.directory,
    dispatcher,
    ingest,
    logs: sink,
    cameraList: cameras,
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
        boxes: [{ x1: 0.62, y1: 0.08, x2: 0.86, y2: 0.3, label: 'truck', score: 0.38, trackId: track }],
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
      await w.close();
      await ingest.close();
      await dispatcher.close();
      await rtsp.close();
      await redis.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
