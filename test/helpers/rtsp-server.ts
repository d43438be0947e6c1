import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../core/util/free-port.js';
import { ARTIFACTS_DIR, x264JoinableArgs } from './media.js';

const execFileP = promisify(execFile);
const LAUNCHER = join(dirname(fileURLToPath(import.meta.url)), 'rtsp-server.py');
/** Debian's python has `gi`; the `python3` on PATH may be another install without it. */
const PYTHON = '/usr/bin/python3';

export interface RtspServerOptions {
  /** Mount path → clip. Each clip is served looped in real time at rtsp://127.0.0.1:PORT/PATH. */
  clips?: Record<string, string>;
  /** One clip served under many paths from one shared media (cheap simulated fleet). */
  fanout?: { clip: string; paths: string[] };
  /** Require RTSP basic auth with these credentials. */
  auth?: { username: string; password: string };
  /** Re-encode clips with a keyframe every N seconds (default: copy the clip's own GOP). */
  gopSec?: number;
  /** RTSP port; default a free one. Kept across stop()/start(). */
  port?: number;
}

export interface RtspServer {
  port: number;
  /** rtsp://127.0.0.1:PORT/PATH (no credentials). */
  url(path: string): string;
  /** The server's and feeders' pids (benchmarks count the simulator's CPU apart). */
  pids(): number[];
  /** Stops the RTSP server process (feeders keep running), as when a camera's server dies. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Makes an MPEG-TS copy of a clip with SPS/PPS in front of every keyframe (the mpegts muxer's
 * mp4toannexb does that), cached in test/.artifacts. Non-H.264 clips, or a requested GOP, are
 * re-encoded with x264 repeat-headers. RTSP clients joining mid-stream need in-band SPS/PPS.
 */
export async function prepareClip(clip: string, gopSec?: number): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const out = join(
    ARTIFACTS_DIR,
    `rtsp-${basename(clip).replace(/\.[^.]+$/, '')}${gopSec ? `-g${gopSec}` : ''}.ts`,
  );
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(clip).mtimeMs) return out;
  const { stdout } = await execFileP('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,r_frame_rate',
    '-of',
    'default=nw=1',
    clip,
  ]);
  const codec = /codec_name=(\S+)/.exec(stdout)?.[1];
  const rate = /r_frame_rate=(\d+)\/(\d+)/.exec(stdout);
  const fps = rate ? Number(rate[1]) / Number(rate[2]) : 25;
  const tmp = `${out}.${process.pid}.tmp`;
  const enc =
    codec === 'h264' && !gopSec
      ? ['-c:v', 'copy']
      : x264JoinableArgs(Math.max(1, Math.round(fps * (gopSec ?? 2))), true);
  await execFileP('ffmpeg', ['-y', '-loglevel', 'error', '-i', clip, '-an', ...enc, '-f', 'mpegts', tmp]);
  renameSync(tmp, out);
  return out;
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * A real RTSP server on loopback: GStreamer's gst-rtsp-server (Debian gstreamer1.0-rtsp) fed RTP
 * by one `ffmpeg -re -stream_loop -1 … -c copy -f rtp` per clip, so footage is served looped in
 * real time without re-encoding. Used by ingest tests, the wall's live-view test, the e2e test
 * and the ingest benchmark.
 */
export async function startRtspServer(opts: RtspServerOptions): Promise<RtspServer> {
  if (!existsSync(PYTHON))
    throw new Error(
      `${PYTHON} missing: apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp`,
    );
  const groups: { paths: string[]; clip: string; udp: number }[] = [];
  for (const [path, clip] of Object.entries(opts.clips ?? {})) {
    groups.push({ paths: [path.replace(/^\/+/, '')], clip: await prepareClip(clip, opts.gopSec), udp: 0 });
  }
  if (opts.fanout && opts.fanout.paths.length) {
    groups.push({
      paths: opts.fanout.paths.map((p) => p.replace(/^\/+/, '')),
      clip: await prepareClip(opts.fanout.clip, opts.gopSec),
      udp: 0,
    });
  }
  if (!groups.length) throw new Error('startRtspServer: give clips or fanout');
  const port = opts.port ?? (await freePort());
  const feeders: ChildProcess[] = [];
  for (const g of groups) {
    g.udp = await freePort();
    // RTP to a port nobody listens on yet is fine: the server's udpsrc binds it when a client
    // first asks for the mount, and the feeder's clock keeps running meanwhile (a live camera).
    const f = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-re',
        '-stream_loop',
        '-1',
        '-i',
        g.clip,
        '-an',
        '-c',
        'copy',
        '-f',
        'rtp',
        `rtp://127.0.0.1:${g.udp}?pkt_size=1200`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    f.stderr?.resume();
    feeders.push(f);
  }
  let server: ChildProcess | null = null;

  async function start(): Promise<void> {
    if (server) return;
    const args = [LAUNCHER, String(port)];
    if (opts.auth) args.push('--auth-env');
    for (const g of groups) args.push(`${g.paths.join(',')}=${g.udp}`);
    const child = spawn(PYTHON, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.auth
        ? { ...process.env, RTSP_AUTH: `${opts.auth.username}:${opts.auth.password}` }
        : process.env,
    });
    server = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    await new Promise<void>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      const timer = setTimeout(
        () => reject(new Error(`RTSP server did not start in 15 s: ${stderr}`)),
        15_000,
      );
      rl.on('line', (line) => {
        if (line.startsWith('READY')) {
          clearTimeout(timer);
          resolve();
        } else if (line.startsWith('ERROR')) {
          clearTimeout(timer);
          reject(new Error(`RTSP server: ${line}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`RTSP server exited with ${code}: ${stderr}`));
      });
    });
  }

  async function stop(): Promise<void> {
    const child = server;
    server = null;
    if (!child) return;
    child.kill('SIGTERM');
    await waitExit(child, 3_000);
  }

  await start();
  let closed = false;
  return {
    port,
    url: (path) => `rtsp://127.0.0.1:${port}/${path.replace(/^\/+/, '')}`,
    pids: () => [server?.pid, ...feeders.map((f) => f.pid)].filter((p): p is number => p !== undefined),
    stop,
    start,
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      for (const f of feeders) f.kill('SIGKILL');
      await Promise.all(feeders.map((f) => waitExit(f, 2_000)));
    },
  };
}
