import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Registry } from 'prom-client';
import type { LiveViewTicket } from '../../core/contracts/camera-directory.js';
import { Codes, ClosedError, GridwatchError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { createChildSupervisor, type ChildSupervisor } from '../../core/process/child-supervisor.js';
import { freePort } from '../../core/util/free-port.js';
import { redactText } from '../../core/util/redact.js';
import type { LiveSource } from './camera-runner.js';
import { classifyFfmpegExit } from './classify-failure.js';
import { rtspInput } from './ffmpeg-input.js';
import type { IngestConfig } from './ingest-config.js';
import type { IngestMetrics } from './ingest-metrics.js';

const execFileP = promisify(execFile);
/** Lifetime of the signed publish URL handed to the relay's ffmpeg (checked once, at connect). */
const PUBLISH_SIGN_TTL_SEC = 30;

export interface LiveRelay {
  /** Starts (or reuses) the relay of a camera and returns a fresh signed ticket. */
  start(cameraId: string, source: () => Promise<LiveSource>): Promise<LiveViewTicket>;
  /** Viewers currently reading a camera's relay. */
  viewers(cameraId: string): number;
  /** Cameras with a running relay. */
  running(): string[];
  /** http://127.0.0.1:PORT of the media server (for a same-origin proxy), once started. */
  origin(): string | null;
  /** Stops one camera's relay now (camera removed or changed). */
  stopCamera(cameraId: string): Promise<void>;
  close(): Promise<void>;
}

interface Relay {
  cameraId: string;
  proc: ChildProcess;
  viewers: Set<string>;
  idleTimer: NodeJS.Timeout | null;
  published: boolean;
  ready: Promise<void>;
  exited: Promise<void>;
}

interface NmsHandle {
  /** Restarts the media server (same ports, same secret) when it dies; up() while it serves. */
  sup: ChildSupervisor;
  http: number;
  rtmp: number;
  dir: string;
}

interface NmsEvent {
  type: string;
  id?: string;
  streamPath?: string;
}

/**
 * On-demand live view: one `ffmpeg -c copy -f flv` push per watched camera into a private
 * node-media-server (child process, loopback only, signed publish and play). Browsers get
 * HTTP-FLV/WS-FLV URLs carrying a short-lived md5 signature, never camera credentials.
 * Viewers are counted from NMS play events; the relay stops `idleStopSec` after the last
 * one leaves (or after start if nobody came).
 */
export function createLiveRelay(opts: {
  config: IngestConfig['liveView'];
  logger: Logger;
  metrics: IngestMetrics;
  ffmpegPath: string;
  /** For the supervisor's gridwatch_child_up and gridwatch_child_restarts_total. */
  registry?: Registry;
}): LiveRelay {
  const log = opts.logger.child({ component: 'live-relay' });
  const secret = randomBytes(24).toString('hex');
  const relays = new Map<string, Relay>();
  let nms: NmsHandle | null = null;
  let nmsStarting: Promise<NmsHandle> | null = null;
  let closed = false;
  const publishWaiters = new Map<string, () => void>();

  const streamPath = (cameraId: string) => `/live/${cameraId}`;
  const sign = (path: string, ttlSec: number) => {
    const exp = Math.floor(Date.now() / 1000) + Math.ceil(ttlSec);
    return { exp, sign: `${exp}-${createHash('md5').update(`${path}-${exp}-${secret}`).digest('hex')}` };
  };

  function onNmsEvent(m: NmsEvent): void {
    const cameraId = m.streamPath?.startsWith('/live/') ? m.streamPath.slice(6) : null;
    const r = cameraId ? relays.get(cameraId) : undefined;
    if (!r || !m.id) return;
    if (m.type === 'postPublish') {
      r.published = true;
      publishWaiters.get(r.cameraId)?.();
    } else if (m.type === 'postPlay') {
      r.viewers.add(m.id);
      if (r.idleTimer) clearTimeout(r.idleTimer);
      r.idleTimer = null;
      log.info({ camera: r.cameraId, viewers: r.viewers.size }, 'live viewer joined');
    } else if (m.type === 'donePlay') {
      // Rejected plays (bad or expired sign) also end with donePlay: only real viewers count.
      if (!r.viewers.delete(m.id)) return;
      log.info({ camera: r.cameraId, viewers: r.viewers.size }, 'live viewer left');
      if (r.viewers.size === 0) armIdle(r);
    }
  }

  function armIdle(r: Relay): void {
    if (r.idleTimer) clearTimeout(r.idleTimer);
    r.idleTimer = setTimeout(() => {
      void stopRelay(r, 'idle: no viewer');
    }, opts.config.idleStopSec * 1000);
  }

  async function startNms(): Promise<NmsHandle> {
    const rtmp = opts.config.rtmpPort || (await freePort());
    const http = opts.config.httpPort || (await freePort());
    const dir = await mkdtemp(join(tmpdir(), 'gw-nms-'));
    const self = fileURLToPath(import.meta.url);
    const ts = self.endsWith('.ts');
    const nmsLog = log.child({ component: 'node-media-server' });
    let current: ChildProcess | null = null;
    let ready = false;
    const sup = createChildSupervisor({
      name: 'node-media-server',
      command: process.execPath,
      args: [...(ts ? ['--import', 'tsx'] : []), self.replace(/live-relay\.(ts|js)$/, `nms-child.$1`)],
      spawnOptions: { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
      logger: log,
      probe: () => Promise.resolve(ready),
      startTimeoutMs: 15_000,
      backoff: { initialMs: 500, maxMs: 10_000 },
      stopTimeoutMs: 5_000,
      gracefulStop: () => {
        if (current?.connected) current.send({ type: 'stop' });
        return Promise.resolve();
      },
      ...(opts.registry ? { metrics: opts.registry } : {}),
      onSpawn: (child) => {
        current = child;
        ready = false;
        // The signing secret goes over IPC, never on the child's command line (visible in `ps`).
        child.send({ type: 'config', config: { rtmpPort: rtmp, httpPort: http, secret, storeDir: dir } });
        child.stdout?.on('data', (d: Buffer) => nmsLog.debug(d.toString().trim()));
        child.stderr?.on('data', (d: Buffer) => nmsLog.warn(d.toString().trim()));
        child.on('message', (m: NmsEvent) => {
          if (child !== current) return;
          if (m.type === 'ready') ready = true;
          else onNmsEvent(m);
        });
      },
    });
    // The supervisor logs the exit once and restarts it; the relays it carried end with it.
    sup.onState((to) => {
      if (to !== 'backoff') return;
      for (const r of relays.values()) void stopRelay(r, 'media server exited');
    });
    try {
      await sup.start();
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw new GridwatchError(
        Codes.GW_LIVE_FAILED,
        `node-media-server did not start: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    log.info({ rtmp, http }, 'node-media-server started on loopback');
    return { sup, http, rtmp, dir };
  }

  async function ensureNms(): Promise<NmsHandle> {
    if (nms) {
      if (!nms.sup.up())
        throw new GridwatchError(
          Codes.GW_LIVE_FAILED,
          'the media server is restarting; try again in a moment',
        );
      return nms;
    }
    nmsStarting ??= startNms().then((n) => (nms = n));
    try {
      return await nmsStarting;
    } catch (e) {
      nmsStarting = null;
      throw e;
    }
  }

  async function pushArgs(
    src: LiveSource,
    target: string,
  ): Promise<{ args: string[]; stdin: string | null }> {
    const base = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
    if (src.kind === 'rtsp') {
      // Credentials travel on stdin (ffmpeg-input.ts), not on the command line.
      const input = rtspInput({
        url: src.input,
        transport: src.transport,
        ioTimeoutSec: 10,
        analyzeDurationUs: 5_000_000,
        probeSize: 5_000_000,
      });
      const args = [...base, ...input.args, '-map', '0:v:0', '-c:v', 'copy', '-an', '-f', 'flv', target];
      return { args, stdin: input.stdin };
    }
    const { stdout } = await execFileP('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name',
      '-of',
      'csv=p=0',
      src.input,
    ]);
    const copy = stdout.trim() === 'h264';
    const enc = copy
      ? ['-c:v', 'copy']
      : ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '50', '-pix_fmt', 'yuv420p'];
    const args = [
      ...base,
      '-re',
      '-stream_loop',
      '-1',
      '-i',
      src.input,
      '-map',
      '0:v:0',
      ...enc,
      '-an',
      '-f',
      'flv',
      target,
    ];
    return { args, stdin: null };
  }

  async function stopRelay(r: Relay, why: string): Promise<void> {
    log.info({ camera: r.cameraId, why }, 'stopping live relay');
    if (relays.get(r.cameraId) === r) relays.delete(r.cameraId);
    if (r.idleTimer) clearTimeout(r.idleTimer);
    r.idleTimer = null;
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill('SIGTERM');
      const t = setTimeout(() => r.proc.kill('SIGKILL'), 2_000);
      await r.exited;
      clearTimeout(t);
    }
  }

  function ticket(n: NmsHandle, cameraId: string): LiveViewTicket {
    const path = streamPath(cameraId);
    const { exp, sign: s } = sign(path, opts.config.tokenTtlSec);
    const rel = `${path}.flv?sign=${s}`;
    const pub = opts.config.publicPath?.replace(/\/+$/, '');
    return {
      cameraId,
      flvUrl: pub !== undefined ? `${pub}${rel}` : `http://127.0.0.1:${n.http}${rel}`,
      wsFlvUrl: pub !== undefined ? `${pub}${rel}` : `ws://127.0.0.1:${n.http}${rel}`,
      expiresAt: exp * 1000,
    };
  }

  return {
    async start(cameraId, source) {
      if (closed) throw new ClosedError('live relay');
      const n = await ensureNms();
      let r = relays.get(cameraId);
      if (!r) {
        const src = await source();
        const path = streamPath(cameraId);
        // NMS checks the publish signature only when the push connects: a short lifetime keeps
        // the one still on ffmpeg's command line (the output URL) of little use to a local reader.
        const { sign: s } = sign(path, PUBLISH_SIGN_TTL_SEC);
        const push = await pushArgs(src, `rtmp://127.0.0.1:${n.rtmp}${path}?sign=${s}`);
        const proc = spawn(opts.ffmpegPath, push.args, {
          stdio: [push.stdin === null ? 'ignore' : 'pipe', 'ignore', 'pipe'],
        });
        if (push.stdin !== null && proc.stdin) {
          proc.stdin.on('error', () => {});
          proc.stdin.end(push.stdin);
        }
        let stderr = '';
        proc.stderr?.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-3000);
        });
        const relay: Relay = {
          cameraId,
          proc,
          viewers: new Set(),
          idleTimer: null,
          published: false,
          ready: Promise.resolve(),
          exited: new Promise<void>((resolve) => proc.once('close', () => resolve())),
        };
        opts.metrics.liveRelays.inc();
        void relay.exited.then(() => {
          opts.metrics.liveRelays.dec();
          publishWaiters.delete(cameraId);
          if (relays.get(cameraId) === relay) {
            relays.delete(cameraId);
            if (relay.idleTimer) clearTimeout(relay.idleTimer);
          }
          log.info(
            {
              camera: cameraId,
              code: proc.exitCode,
              signal: proc.signalCode,
              stderr: redactText(stderr, src.secrets)
                .replace(/sign=[\w-]+/g, 'sign=***')
                .slice(-500),
            },
            'live relay ended',
          );
        });
        relay.ready = new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => {
            reject(
              new GridwatchError(
                Codes.GW_LIVE_TIMEOUT,
                `live relay for camera ${cameraId} did not start within 15 s`,
              ),
            );
            void stopRelay(relay, 'start timeout');
          }, 15_000);
          publishWaiters.set(cameraId, () => {
            clearTimeout(t);
            resolve();
          });
          void relay.exited.then(() => {
            clearTimeout(t);
            const f = classifyFfmpegExit({
              code: proc.exitCode,
              signal: proc.signalCode,
              stderr: redactText(stderr, src.secrets).replace(/sign=[\w-]+/g, 'sign=***'),
              frames: 0,
            });
            reject(
              new GridwatchError(
                Codes.GW_LIVE_FAILED,
                `live relay for camera ${cameraId} failed: ${f.code}: ${f.message}`,
              ),
            );
          });
        });
        relays.set(cameraId, relay);
        r = relay;
        log.info({ camera: cameraId }, 'live relay started');
      }
      if (!r.published) await r.ready;
      // Nobody may come (the browser closed first): the idle timer covers that too.
      if (r.viewers.size === 0) armIdle(r);
      return ticket(n, cameraId);
    },
    viewers: (id) => relays.get(id)?.viewers.size ?? 0,
    running: () => [...relays.keys()],
    origin: () => (nms?.sup.up() ? `http://127.0.0.1:${nms.http}` : null),
    async stopCamera(id) {
      const r = relays.get(id);
      if (r) await stopRelay(r, 'camera stopped');
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...relays.values()].map((r) => stopRelay(r, 'closing')));
      const n =
        nms ??
        (nmsStarting
          ? await nmsStarting.catch(
              (e: unknown) => (log.warn({ err: e }, 'node-media-server failed while closing'), null),
            )
          : null);
      if (n) {
        await n.sup.close();
        await rm(n.dir, { recursive: true, force: true });
      }
    },
  };
}
