/**
 * Ingest benchmark (`npm run bench:ingest`).
 * 1. CPU seconds per sampled frame: keyframe-only vs full decode, same RTSP stream, same output
 *    rate, both samplers running side by side in one run (recorded as "ingest").
 * 2. Modes side by side (recorded as "ingest-modes"): N cameras per step on one RTSP server
 *    fanning one pre-encoded stream out to N paths; per step the mode (pair, single, burst, or
 *    auto = mode-choice.ts), lag, late and duplicate frames, CPU and memory per camera, load.
 * Env: BENCH_FLEET ("profile:mode:n,n[@interval];…", profile sub|main, mode pair|single|burst|auto,
 * interval default 10 s; default sub:pair:500;sub:single:500;sub:burst:500@60), BENCH_SEC
 * (measured seconds per step, at least one interval; default 30), BENCH_CPU_SEC (part 1 seconds,
 * default 40; 0 skips it), BENCH_CPU_INTERVAL (part 1 sampling interval, default 5 s),
 * BENCH_SETTLE_SEC (wait after every camera is up, default 20), BENCH_UP_TIMEOUT_SEC (longest
 * wait for every camera's first frame, default 0.6 s per camera + 60 s), BENCH_NO_RECORD=1 (trial
 * run, keeps the recorded figures).
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { recordResults } from './lib/record.js';
import { CameraSchema } from '../core/contracts/camera-schema.js';
import type { LoadedCamera } from '../core/contracts/loaded-camera.js';
import { createEvidenceStore } from '../core/evidence/evidence-store.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { rtspInput } from '../features/ingest/ffmpeg-input.js';
import { runSampler, slotToleranceSec, type SamplerProcess } from '../features/ingest/ffmpeg-sampler.js';
import { createSlotClock } from '../features/ingest/slot-clock.js';
import { createIngest } from '../features/ingest/ingest.js';
import { IngestConfigSchema } from '../features/ingest/ingest-config.js';
import { p95 } from '../features/ingest/ingest-metrics.js';
import { createLogger } from '../core/logger.js';
import { createMetricsRegistry } from '../core/metrics.js';
import { ARTIFACTS_DIR, vtestH264 } from '../test/helpers/media.js';
import { startRtspServer } from '../test/helpers/rtsp-server.js';
import setup from '../test/helpers/global-setup.js';

const TICK = 100; // CLK_TCK on Linux x86_64
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user+system) a process has used so far; 0 if it is gone. */
function cpuSec(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

/** Proportional set size in MiB (shared libraries split between the processes using them). */
function pssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** A 20 s H.264 copy of vtest encoded the way a camera profile is (cached in the artefacts dir). */
function cameraClip(
  name: string,
  o: { vf: string; profile: string; bitrate: string; bufsize: string; gop: number },
): string {
  const out = join(ARTIFACTS_DIR, name);
  if (existsSync(out)) return out;
  const tmp = `${out}.tmp.mp4`;
  const gop = String(o.gop);
  execFileSync('ffmpeg', [
    ...['-y', '-loglevel', 'error', '-t', '20', '-i', vtestH264(), '-vf', o.vf, '-an'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', o.profile],
    ...['-b:v', o.bitrate, '-maxrate', o.bitrate, '-bufsize', o.bufsize],
    ...['-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-bf', '0', '-pix_fmt', 'yuv420p'],
    ...['-x264-params', 'repeat-headers=1', tmp],
  ]);
  renameSync(tmp, out);
  return out;
}

/** 1080p25, 4 Mb/s, 2 s GOP: what a camera main stream looks like. */
const mainStreamClip = () =>
  cameraClip('vtest-1080p25.mp4', {
    vf: 'scale=1920:1080,fps=25',
    profile: 'high',
    bitrate: '4M',
    bufsize: '8M',
    gop: 50,
  });

/** 640×360, 15 fps, 384 kb/s, 2 s GOP: what cameras ship as the second (sub-stream) profile. */
const subStreamClip = () =>
  cameraClip('vtest-sub-640x360.mp4', {
    vf: 'scale=640:360,fps=15',
    profile: 'main',
    bitrate: '384k',
    bufsize: '768k',
    gop: 30,
  });

async function keyframeVsFull(url: string, seconds: number): Promise<string> {
  // The product default: a sample every 5 s (the keyframe sampler still decodes every keyframe).
  const interval = Number(process.env.BENCH_CPU_INTERVAL ?? 5);
  const counts = { key: 0, full: 0 };
  const mk = (full: boolean, keep?: (jpeg: Uint8Array) => void) =>
    runSampler(
      { input: url, kind: 'rtsp', intervalSec: interval, width: 512, height: 512, fullDecode: full },
      {
        onSample: (smp) => {
          counts[full ? 'full' : 'key']++;
          keep?.(smp.jpeg);
        },
        onExit: (i) => {
          if (i.frames === 0) process.stderr.write(`sampler exited early: ${i.stderrTail.slice(-300)}\n`);
        },
      },
    );
  let lastJpeg: Uint8Array | null = null;
  const key = mk(false, (j) => (lastJpeg = j));
  const full = mk(true);
  await sleep(5_000); // connect and probe, not part of the steady-state cost
  const cpu = (p: SamplerProcess) => p.pids.reduce((a, pid) => a + cpuSec(pid), 0);
  const c0 = { key: cpu(key), full: cpu(full), nk: counts.key, nf: counts.full };
  await sleep(seconds * 1000);
  const c1 = { key: cpu(key), full: cpu(full), nk: counts.key, nf: counts.full };
  await Promise.all([key.stop(), full.stop()]);
  const perKey = (c1.key - c0.key) / Math.max(1, c1.nk - c0.nk);
  const perFull = (c1.full - c0.full) / Math.max(1, c1.nf - c0.nf);
  const ratio = perKey / perFull;
  // The JPEG → RGB 512x512 step runs in the gateway (sharp), identical for both samplers.
  let sharpPer = 0;
  if (lastJpeg) {
    const u0 = process.cpuUsage();
    for (let i = 0; i < 20; i++)
      await sharp(lastJpeg)
        .resize(512, 512, { fit: 'fill', kernel: 'linear' })
        .removeAlpha()
        .raw()
        .toBuffer();
    const u = process.cpuUsage(u0);
    sharpPer = (u.user + u.system) / 1e6 / 20;
  }
  const ratioAll = (perKey + sharpPer) / (perFull + sharpPer);
  return [
    `Same RTSP stream (vtest.avi upscaled and re-encoded like a camera main stream: 1920x1080, 25 fps, H.264 4 Mb/s, keyframe every 2 s), one sample every ${interval} s, RGB 512x512 + JPEG (1280 wide) out, both samplers side by side for ${seconds} s. Keyframe-only is the product's RTSP path: a reader ffmpeg copies the video packets and passes one keyframe per slot (noise bsf drop expression) to a decoder ffmpeg, so one keyframe is decoded per sample; CPU counts both processes. Full decode is one ffmpeg decoding every frame and selecting one per slot:`,
    '',
    '| sampler | frames | CPU s | CPU s per frame | share of one core |',
    '| --- | --- | --- | --- | --- |',
    `| keyframe-only (reader + decoder, 1 keyframe decoded per sample) | ${c1.nk - c0.nk} | ${(c1.key - c0.key).toFixed(2)} | ${perKey.toFixed(4)} | ${(((c1.key - c0.key) / seconds) * 100).toFixed(1)} % |`,
    `| full decode + select | ${c1.nf - c0.nf} | ${(c1.full - c0.full).toFixed(2)} | ${perFull.toFixed(4)} | ${(((c1.full - c0.full) / seconds) * 100).toFixed(1)} % |`,
    '',
    `Keyframe-only costs **${(ratio * 100).toFixed(1)} %** of full decode per sampled frame in ffmpeg (target: at most 20 %). Adding the JPEG → RGB step done by sharp in the gateway (${(sharpPer * 1000).toFixed(1)} ms CPU per frame, the same for both), the whole pipeline costs ${(ratioAll * 100).toFixed(1)} %. CPU from /proc/PID/stat (${TICK} Hz ticks) and process.cpuUsage().`,
  ].join('\n');
}

interface StepResult {
  profile: string;
  mode: BenchMode;
  intervalSec: number;
  /** 1-min load average at the step's start and end. */
  load: [number, number];
  /** ffmpeg children only (live and exited), cores. */
  ffmpegCores: number;
  /** Cameras whose status shows a stretched interval or a mode other than the one asked for. */
  modes: Record<string, number>;
  cameras: number;
  online: number;
  frames: number;
  expected: number;
  lagP95: number | null;
  lagMax: number | null;
  /** p95 of the two parts of lag (gridwatch_ingest_delivery_delay / keyframe_wait histograms). */
  deliveryP95: number | null;
  keyframeWaitP95: number | null;
  late: number;
  duplicate: number;
  /** Seconds from update() until every camera had delivered a frame (null: not all did). */
  upAfterSec: number | null;
  /** ffmpeg children + this process (gateway side), cores. */
  cpuCores: number;
  /** The GStreamer server and its feeder, cores (would not run on a gateway). */
  serverCores: number;
  ffmpegMiBPerCam: number;
  nodeMiB: number;
  /** groupN only: what one dead input does to its group (groupStep). */
  flap?: FlapResult;
}

/** utime+stime of this process and of its waited-for children (burst samplers that exited). */
function selfCpuSec(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK;
}

/** Live child processes of this process, except `exclude`. */
function childPids(exclude: number[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(f[1]) === process.pid && !exclude.includes(Number(d))) out.push(Number(d));
    } catch {
      // the process ended between readdir and read
      continue;
    }
  }
  return out;
}

/**
 * pair / single: persistent with that pipeline; burst: connect-take-disconnect; auto: mode-choice.ts;
 * groupN: N cameras per ffmpeg process (bench-only variant, groupStep).
 */
type BenchMode = 'pair' | 'single' | 'burst' | 'auto' | `group${number}`;

interface FleetProfile {
  profile: string;
  /** groupN: cameras per ffmpeg process. */
  groupSize?: number;
  clip: string;
  mode: BenchMode;
  intervalSec: number;
}

async function fleetStep(fp: FleetProfile, n: number, seconds: number): Promise<StepResult> {
  if (fp.groupSize) return groupStep(fp, n, fp.groupSize, seconds);
  const paths = Array.from({ length: n }, (_, i) => `sim/cam-${i}`);
  const rtsp = await startRtspServer({ fanout: { clip: fp.clip, paths } });
  const logger = createLogger({
    level: 'warn',
    pretty: false,
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const ingest = createIngest({
    config: IngestConfigSchema.parse({
      maxFfmpeg: 2_000,
      maxDecodesPerSec: 400,
      startStaggerMs: 20,
      persistentPipeline: fp.mode === 'pair' || fp.mode === 'single' ? fp.mode : 'auto',
    }),
    timeZone: 'Asia/Shanghai',
    logger,
    metrics: registry,
    frameSize: { width: 512, height: 512 },
    findingSink: { submit: async () => undefined },
    evidence: createEvidenceStore({ dir: '/tmp/gw-bench-evidence' }),
    resolveSecret: () => '',
  });
  const lags: number[] = [];
  const timing = async () => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'gridwatch_ingest_frames_total');
    const v = (t: string) =>
      (m?.values ?? []).filter((x) => x.labels.timing === t).reduce((a, x) => a + Number(x.value), 0);
    return { late: v('late'), duplicate: v('duplicate') };
  };
  /** p95 from a histogram's buckets, between two snapshots (upper bucket bound, seconds → ms). */
  const histP95 = async (name: string, before?: Map<string, number>) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    const buckets = new Map<string, number>();
    for (const x of m?.values ?? [])
      if ((x as { metricName?: string }).metricName?.endsWith('_bucket'))
        buckets.set(String(x.labels.le), Number(x.value));
    if (!before) return { buckets, p95: null as number | null };
    const counts = [...buckets].map(([le, c]) => [le, c - (before.get(le) ?? 0)] as const);
    const total = counts.find(([le]) => le === '+Inf')?.[1] ?? 0;
    const hit = counts.find(([, c]) => c >= total * 0.95);
    return { buckets, p95: total && hit ? (hit[0] === '+Inf' ? Infinity : Number(hit[0]) * 1000) : null };
  };
  let measuring = false;
  let frames = 0;
  ingest.onFrame((f) => {
    if (!measuring) return;
    frames++;
    lags.push(f.capturedAt - (f.scheduledAt ?? f.capturedAt));
  });
  const cams: LoadedCamera[] = paths.map((p, i) => ({
    ...CameraSchema.parse({
      id: `sim-${i}`,
      name: `sim ${i}`,
      source: { kind: 'rtsp', url: rtsp.url(p) },
      ...(fp.mode === 'burst' ? { mode: 'burst' } : fp.mode === 'auto' ? {} : { mode: 'persistent' }),
      samplingIntervalSec: fp.intervalSec,
      location: { lon: 116.4, lat: 39.9 },
    }),
    file: 'bench.yaml',
    line: i + 1,
    baseDir: '/tmp',
    wgs84: { lon: 116.4, lat: 39.9 },
  }));
  const rss0 = process.memoryUsage().rss;
  const started = Date.now();
  ingest.update(cams);
  // Measure only once every camera is up (each ffmpeg start costs ~0.1 s of CPU, two per camera:
  // 300 cameras took ~80 s to come up on 2 cores), then let it settle, or the ramp is measured.
  const warmEnd = Date.now() + Number(process.env.BENCH_UP_TIMEOUT_SEC ?? n * 0.6 + 60) * 1000;
  while (Date.now() < warmEnd && ingest.directory.list().filter((s) => s.framesSampled > 0).length < n)
    await sleep(500);
  const allUp = ingest.directory.list().filter((s) => s.framesSampled > 0).length === n;
  const upAfterSec = allUp ? Math.round((Date.now() - started) / 1000) : null;
  await sleep(Number(process.env.BENCH_SETTLE_SEC ?? 20) * 1000);
  const t0Timing = await timing();
  const d0 = await histP95('gridwatch_ingest_delivery_delay_seconds');
  const k0 = await histP95('gridwatch_ingest_keyframe_wait_seconds');
  const server = rtsp.pids();
  const gw = () => childPids(server).reduce<number>((a, p) => a + cpuSec(p), 0) + selfCpuSec();
  const srv = () => server.reduce<number>((a, p) => a + cpuSec(p), 0);
  const load0 = loadavg()[0]!;
  const nodeCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const g0 = gw();
  const s0 = srv();
  const n0 = nodeCpu();
  measuring = true;
  const t0 = Date.now();
  // PSS sampled mid-run (burst samplers come and go)
  await sleep((seconds * 1000) / 2);
  const kids = childPids(server);
  const pss = kids.reduce<number>((a, p) => a + pssMiB(p), 0);
  await sleep((seconds * 1000) / 2);
  measuring = false;
  const el = (Date.now() - t0) / 1000;
  const g1 = gw();
  const s1 = srv();
  const n1 = nodeCpu();
  const modes: Record<string, number> = {};
  // Why cameras are not online: the reason codes, counted (the first words of each reason).
  for (const st of ingest.directory.list())
    if (st.state !== 'online') {
      const k = `${st.state} ${(st.reason ?? '').split(':')[0]}`.trim();
      modes[k] = (modes[k] ?? 0) + 1;
    }
  for (const st of ingest.directory.list()) {
    const k = `${st.ingest?.mode ?? '?'}${(st.ingest?.effectiveIntervalSec ?? 0) > fp.intervalSec ? ' (stretched)' : ''}`;
    modes[k] = (modes[k] ?? 0) + 1;
  }
  const online = ingest.directory.list().filter((s) => s.state === 'online').length;
  const t1Timing = await timing();
  const deliveryP95 = (await histP95('gridwatch_ingest_delivery_delay_seconds', d0.buckets)).p95;
  const keyframeWaitP95 = (await histP95('gridwatch_ingest_keyframe_wait_seconds', k0.buckets)).p95;
  const nodeMiB = (process.memoryUsage().rss - rss0) / 2 ** 20;
  await ingest.close();
  await rtsp.close();
  return {
    profile: fp.profile,
    mode: fp.mode,
    intervalSec: fp.intervalSec,
    load: [load0, loadavg()[0]!],
    ffmpegCores: (g1 - g0 - (n1 - n0)) / el,
    modes,
    cameras: n,
    online,
    frames,
    expected: Math.round((n * el) / fp.intervalSec),
    lagP95: lags.length ? Math.round(p95(lags)!) : null,
    lagMax: lags.length ? Math.round(Math.max(...lags)) : null,
    deliveryP95,
    keyframeWaitP95,
    late: t1Timing.late - t0Timing.late,
    duplicate: t1Timing.duplicate - t0Timing.duplicate,
    upAfterSec,
    cpuCores: (g1 - g0) / el,
    serverCores: (s1 - s0) / el,
    ffmpegMiBPerCam: pss / n,
    nodeMiB,
  };
}

/** One dead input's effect on its group (groupStep): the coupling a shared ffmpeg costs. */
interface FlapResult {
  groupSize: number;
  /** Frames the group's healthy cameras delivered in the watch window after the death (expected). */
  healthyFrames: number;
  healthyExpected: number;
  watchSec: number;
  /** ms after the death when the group's ffmpeg exited (null: still running at the window's end). */
  groupExitMs: number | null;
  /** ms after the death of the first non-frame line ffmpeg printed, and its text (redacted by construction: no credentials). */
  firstMessageMs: number | null;
  firstMessage: string;
  /** Restart with the dead input still listed: exit after ms with code (null: it ran). */
  restartAllExitMs: number | null;
  restartAllCode: number | null;
  restartAllHealthyFrames: number;
  /** Restart without the dead input: ms from killing the old process to every healthy camera's first frame. */
  restartMs: number | null;
  /** Slots each healthy camera missed over the restart (measured from arrivals), summed. */
  healthyLost: number;
}

interface GroupCam {
  index: number;
  url: string;
  clock: ReturnType<typeof createSlotClock>;
  frames: number;
  lastAt: number | null;
}

interface GroupProc {
  proc: ChildProcess;
  /** Non-frame stderr lines with their arrival time. */
  lines: { at: number; line: string }[];
  exit: Promise<{ at: number; code: number | null }>;
  stop(): Promise<void>;
}

/**
 * One ffmpeg for several cameras: per camera an input with its own `-skip_frame nokey`, its own
 * filtergraph (the same select/showinfo/scale as single mode, showinfo named `c<k>`) and its
 * own MJPEG output on fd 3+k. A camera whose URL carries credentials gets the same ffconcat list
 * as single mode, read from its own fd (3+N+k) instead of stdin, so `ps` shows only `pipe:N`.
 */
export function groupArgs(
  urls: string[],
  intervalSec: number,
): { args: string[]; lists: Map<number, string> } {
  const n = urls.length;
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-filter_threads', '1'];
  const lists = new Map<number, string>();
  const tol = slotToleranceSec(intervalSec);
  const g = (x: string) => `floor((${x}-ld(0)+${tol})/${intervalSec})`;
  urls.forEach((url, k) => {
    const inp = rtspInput({
      url,
      transport: 'tcp',
      ioTimeoutSec: 10,
      analyzeDurationUs: 2_000_000,
      probeSize: 2_000_000,
    });
    const a = [...inp.args];
    if (inp.stdin !== null) {
      a[a.length - 1] = `pipe:${3 + n + k}`;
      lists.set(3 + n + k, inp.stdin);
    }
    args.push('-threads', '1', '-flags', 'low_delay', '-skip_frame', 'nokey', ...a);
  });
  urls.forEach((_, k) => {
    const select = `select='if(isnan(prev_selected_t)\\,st(0\\,t)*0+1\\,gte(${g('t')}-${g('prev_selected_t')}\\,1))'`;
    args.push(
      '-filter_complex',
      `[${k}:v:0]split=2[k${k}][v${k}];[k${k}]select='eq(key\\,1)',showinfo@k${k},nullsink;[v${k}]${select},showinfo@c${k},scale='min(1280,iw)':-2:flags=bilinear[j${k}]`,
    );
  });
  urls.forEach((_, k) =>
    args.push(
      ...['-map', `[j${k}]`, '-fps_mode', 'passthrough', '-flush_packets', '1', '-c:v', 'mjpeg'],
      ...['-threads', '1', '-q:v', '4', '-f', 'image2pipe', `pipe:${3 + k}`],
    ),
  );
  return { args, lists };
}

const GROUP_INFO = /showinfo@c(\d+) @.*?pts_time:\s*(-?[\d.]+)/;
/** Every showinfo line (frame lines, their continuation lines, the keyframe branch). */
const GROUP_SHOWINFO = /showinfo@[ck]\d+ @/;

/** Starts one group ffmpeg; frames are paired per camera (showinfo line + JPEG), made RGB by sharp like runSampler. */
function startGroup(
  cams: GroupCam[],
  intervalSec: number,
  onFrame: (c: GroupCam, pts: number, at: number) => void,
): GroupProc {
  const { args, lists } = groupArgs(
    cams.map((c) => c.url),
    intervalSec,
  );
  const n = cams.length;
  const stdio: ('ignore' | 'pipe')[] = ['ignore', 'ignore', 'pipe'];
  for (let fd = 3; fd < 3 + 2 * n; fd++) stdio.push(fd < 3 + n || lists.has(fd) ? 'pipe' : 'ignore');
  const proc = spawn('ffmpeg', args, { stdio });
  for (const [fd, text] of lists) {
    const w = proc.stdio[fd] as Writable;
    w.on('error', () => {});
    w.end(text);
  }
  const pts: number[][] = cams.map(() => []);
  const jpegs: { jpeg: Buffer; at: number }[][] = cams.map(() => []);
  let chain: Promise<void> = Promise.resolve();
  const pair = (k: number) => {
    while (pts[k]!.length && jpegs[k]!.length) {
      const p = pts[k]!.shift()!;
      const { jpeg, at } = jpegs[k]!.shift()!;
      chain = chain.then(async () => {
        await sharp(jpeg).resize(512, 512, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer();
        onFrame(cams[k]!, p, at);
      });
    }
  };
  cams.forEach((_, k) => {
    let pending: Buffer = Buffer.alloc(0);
    const out = proc.stdio[3 + k] as NodeJS.ReadableStream & { on(e: 'error', f: () => void): void };
    out.on('error', () => {});
    out.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let from = 0;
      for (;;) {
        const end = pending.indexOf(Buffer.from([0xff, 0xd9]), from + 2);
        if (end < 0) break;
        jpegs[k]!.push({ jpeg: Buffer.from(pending.subarray(from, end + 2)), at: Date.now() });
        from = end + 2;
      }
      pending = from ? Buffer.from(pending.subarray(from)) : pending;
      pair(k);
    });
  });
  const lines: { at: number; line: string }[] = [];
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const ls = buf.split('\n');
    buf = ls.pop() ?? '';
    for (const line of ls) {
      const m = GROUP_INFO.exec(line);
      if (m) {
        pts[Number(m[1])]!.push(Number(m[2]));
        pair(Number(m[1]));
      } else if (!GROUP_SHOWINFO.test(line) && line.trim() && !/^\s/.test(line))
        lines.push({ at: Date.now(), line });
    }
  });
  const exit = new Promise<{ at: number; code: number | null }>((res) =>
    proc.once('exit', (code) => res({ at: Date.now(), code })),
  );
  return {
    proc,
    lines,
    exit,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 2_000);
      await exit;
      clearTimeout(t);
    },
  };
}

/**
 * groupN: N cameras per ffmpeg process (issue 12 item 2), measured like the other steps, then
 * one input's server is stopped (camera 0, alone on its own RTSP server, is in group 0) to see
 * what the other N-1 cameras of its process live through, and what restarting the group costs.
 */
async function groupStep(fp: FleetProfile, n: number, G: number, seconds: number): Promise<StepResult> {
  const paths = Array.from({ length: n }, (_, i) => `sim/cam-${i}`);
  const rtsp = await startRtspServer({ fanout: { clip: fp.clip, paths: paths.slice(1) } });
  const flapSrv = await startRtspServer({ fanout: { clip: fp.clip, paths: [paths[0]!] } });
  const I = fp.intervalSec;
  const cams: GroupCam[] = paths.map((p, i) => ({
    index: i,
    url: i === 0 ? flapSrv.url(p) : rtsp.url(p),
    clock: createSlotClock(I),
    frames: 0,
    lastAt: null,
  }));
  let measuring = false;
  const m = {
    frames: 0,
    late: 0,
    duplicate: 0,
    lags: [] as number[],
    delivery: [] as number[],
    wait: [] as number[],
  };
  const onFrame = (c: GroupCam, pts: number, at: number) => {
    const t = c.clock.observe(pts, at);
    c.frames++;
    c.lastAt = at;
    if (!measuring) return;
    m.frames++;
    m.lags.push(at - t.scheduledAt);
    if (t.kind === 'late') m.late++;
    if (t.kind === 'duplicate') m.duplicate++;
    else {
      m.delivery.push(t.deliveryMs);
      m.wait.push(t.keyframeWaitMs);
    }
  };
  const rss0 = process.memoryUsage().rss;
  const started = Date.now();
  const groups: GroupProc[] = [];
  for (let g = 0; g * G < n; g++) {
    groups.push(startGroup(cams.slice(g * G, g * G + G), I, onFrame));
    await sleep(20 * G); // the same start rate per camera as the runners' 20 ms stagger
  }
  const warmEnd = Date.now() + Number(process.env.BENCH_UP_TIMEOUT_SEC ?? n * 0.6 + 60) * 1000;
  while (Date.now() < warmEnd && cams.some((c) => c.frames === 0)) await sleep(500);
  const upAfterSec = cams.every((c) => c.frames > 0) ? Math.round((Date.now() - started) / 1000) : null;
  await sleep(Number(process.env.BENCH_SETTLE_SEC ?? 20) * 1000);
  const server = [...rtsp.pids(), ...flapSrv.pids()];
  const gw = () => childPids(server).reduce<number>((a, p) => a + cpuSec(p), 0) + selfCpuSec();
  const srv = () => server.reduce<number>((a, p) => a + cpuSec(p), 0);
  const nodeCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const load0 = loadavg()[0]!;
  const [g0, s0, n0] = [gw(), srv(), nodeCpu()];
  measuring = true;
  const t0 = Date.now();
  await sleep((seconds * 1000) / 2);
  const pss = childPids(server).reduce<number>((a, p) => a + pssMiB(p), 0);
  await sleep((seconds * 1000) / 2);
  measuring = false;
  const el = (Date.now() - t0) / 1000;
  const [g1, s1, n1] = [gw(), srv(), nodeCpu()];
  const load1 = loadavg()[0]!;
  const online = cams.filter((c) => c.lastAt !== null && Date.now() - c.lastAt < 3 * I * 1000).length;
  const nodeMiB = (process.memoryUsage().rss - rss0) / 2 ** 20;

  // The flap: camera 0's server dies; what do cameras 1..G-1 (same process) see?
  const healthy = cams.slice(1, Math.min(G, n));
  const watchSec = Number(process.env.BENCH_FLAP_WATCH_SEC ?? 3 * I);
  const before = healthy.reduce((a, c) => a + c.frames, 0);
  const grp = groups[0]!;
  let exitedAt: number | null = null;
  void grp.exit.then((e) => (exitedAt = e.at));
  const tDeath = Date.now();
  await flapSrv.stop();
  await sleep(watchSec * 1000);
  const healthyFrames = healthy.reduce((a, c) => a + c.frames, 0) - before;
  const first = grp.lines.find((l) => l.at >= tDeath);
  // Restart as a supervisor would once its watchdog noticed: first with every input listed
  // (the dead server still down), then without the dead one.
  const tKill = Date.now();
  await grp.stop();
  const lastBefore = healthy.map((c) => c.lastAt ?? tKill);
  const fAll = healthy.reduce((a, c) => a + c.frames, 0);
  const tA = Date.now();
  const gA = startGroup(cams.slice(0, Math.min(G, n)), I, onFrame);
  const exA = await Promise.race([gA.exit, sleep(15_000).then(() => null)]);
  await gA.stop();
  const restartAllHealthyFrames = healthy.reduce((a, c) => a + c.frames, 0) - fAll;
  const tB = Date.now();
  const framesAtB = healthy.map((c) => c.frames);
  const gB = startGroup(healthy, I, onFrame);
  const backBy = Date.now() + 60_000;
  while (Date.now() < backBy && healthy.some((c, i) => c.frames === framesAtB[i])) await sleep(100);
  const back = healthy.every((c, i) => c.frames > framesAtB[i]!);
  // What a supervisor restarting straight away would cost: the kill (tKill → tA) plus gB's start.
  const restartMs = back ? tA - tKill + (Math.max(...healthy.map((c) => c.lastAt!)) - tB) : null;
  const healthyLost = back
    ? healthy.reduce((a, c, i) => {
        const gap = c.lastAt! - tB + (tA - tKill) + (tKill - lastBefore[i]!);
        return a + Math.max(0, Math.round(gap / (I * 1000)) - 1);
      }, 0)
    : healthy.length * Math.round(60 / I);
  await Promise.all([...groups.slice(1).map((g) => g.stop()), gB.stop()]);
  await rtsp.close();
  await flapSrv.close();
  return {
    profile: fp.profile,
    mode: fp.mode,
    intervalSec: I,
    load: [load0, load1],
    ffmpegCores: (g1 - g0 - (n1 - n0)) / el,
    modes: { [`${groups.length} ffmpeg`]: n },
    cameras: n,
    online,
    frames: m.frames,
    expected: Math.round((n * el) / I),
    lagP95: m.lags.length ? Math.round(p95(m.lags)!) : null,
    lagMax: m.lags.length ? Math.round(Math.max(...m.lags)) : null,
    deliveryP95: m.delivery.length ? Math.round(p95(m.delivery)!) : null,
    keyframeWaitP95: m.wait.length ? Math.round(p95(m.wait)!) : null,
    late: m.late,
    duplicate: m.duplicate,
    upAfterSec,
    cpuCores: (g1 - g0) / el,
    serverCores: (s1 - s0) / el,
    ffmpegMiBPerCam: pss / n,
    nodeMiB,
    flap: {
      groupSize: Math.min(G, n),
      healthyFrames,
      healthyExpected: Math.round((healthy.length * watchSec) / I),
      watchSec,
      groupExitMs: exitedAt !== null && exitedAt <= tKill ? exitedAt - tDeath : null,
      firstMessageMs: first ? first.at - tDeath : null,
      firstMessage: first ? first.line.replace(/0x[0-9a-f]+/g, '0x…').slice(0, 120) : '',
      restartAllExitMs: exA ? exA.at - tA : null,
      restartAllCode: exA ? exA.code : null,
      restartAllHealthyFrames,
      restartMs,
      healthyLost,
    },
  };
}

async function main(): Promise<void> {
  setup();
  const sec = Number(process.env.BENCH_SEC ?? 30);
  const cpuSecs = Number(process.env.BENCH_CPU_SEC ?? 40);
  const single = await startRtspServer({ clips: { bench: mainStreamClip() } });
  process.stderr.write('part 1: keyframe-only vs full decode\n');
  const part1 = cpuSecs > 0 ? await keyframeVsFull(single.url('bench'), cpuSecs) : '(skipped)';
  await single.close();
  process.stderr.write(`${part1}\n`);
  const sub = subStreamClip();
  const SUB = 'sub-stream 640x360, 15 fps, H.264 384 kb/s, GOP 2 s';
  const MAIN = 'main stream 1920x1080, 25 fps, H.264 4 Mb/s, GOP 2 s';
  // BENCH_FLEET: "profile:mode:n,n[@interval];…" with profile sub|main and mode pair|single|burst|auto.
  const plan = (process.env.BENCH_FLEET ?? 'sub:pair:500;sub:single:500;sub:burst:500@60')
    .split(';')
    .map((x) => x.split(':'))
    .map(([p, m, rest]) => {
      const [ns, iv] = (rest ?? '').split('@');
      const g = /^group(\d+)$/.exec(m ?? '');
      const mode: BenchMode = g
        ? `group${Number(g[1])}`
        : m === 'burst' || m === 'single' || m === 'auto'
          ? m
          : 'pair';
      return {
        fp: {
          ...(g ? { groupSize: Number(g[1]) } : {}),
          profile: p === 'main' ? MAIN : SUB,
          clip: p === 'main' ? mainStreamClip() : sub,
          mode,
          intervalSec: Number(iv ?? 10),
        },
        ns: (ns ?? '').split(',').map(Number),
      };
    });
  const rows: StepResult[] = [];
  const load0 = loadavg();
  for (const { fp, ns } of plan)
    for (const n of ns) {
      process.stderr.write(`part 2: ${fp.profile} ${fp.mode} ${n} cameras every ${fp.intervalSec} s\n`);
      // At least one interval measured, so a burst fleet on a long interval shows every camera.
      const r = await fleetStep(fp, n, Math.max(sec, fp.intervalSec));
      rows.push(r);
      process.stderr.write(`${JSON.stringify(r)}\n`);
    }
  const load1 = loadavg();
  const ok = rows.filter(
    (r) => r.lagP95 !== null && r.lagP95 < 1_000 && r.online === r.cameras && r.intervalSec === 10,
  );
  const best = [...ok].sort((x, y) => y.cameras - x.cameras)[0];
  const b = (v: number | null) => (v === null ? '-' : v === Infinity ? '> 30 s' : `≤ ${v} ms`);
  const memPerCam = (r: StepResult) => r.ffmpegMiBPerCam + r.nodeMiB / r.cameras;
  const part2 = [
    `Command: \`BENCH_CPU_SEC=0 BENCH_FLEET='${process.env.BENCH_FLEET ?? 'sub:pair:500;sub:single:500;sub:burst:500@60'}' npm run bench:ingest\` (steps run one after another in one process; the machine is shared, so compare the rows of this run with each other).`,
    '',
    `Each step: N cameras on one GStreamer RTSP server on loopback (one shared media fanning one pre-encoded clip of vtest.avi out to N paths), measured for max(${sec} s, one interval) starting ${Number(process.env.BENCH_SETTLE_SEC ?? 20)} s after every camera delivered a first frame (or after the up time-out). \`pair\`: reader ffmpeg picking one keyframe per slot by packet selection + decoder ffmpeg; \`single\`: one ffmpeg decoding every keyframe and selecting one per slot; \`burst\`: connect, take one keyframe, disconnect, once per interval. Gateway CPU = ffmpeg children (live and exited) + the Node process; the RTSP server and its feeder are shown apart (they would not run on a gateway). Memory per camera = PSS of the ffmpeg processes (shared libraries split between them) / N + the Node process's RSS growth / N. Late = lag beyond half the interval; duplicate = a second frame for a slot already served (persistent modes only). Lag = arrival minus the slot's due time.`,
    '',
    '| stream simulated | mode | interval | cameras | all up after | online | frames (expected) | late / duplicate | p95 lag | p95 delivery / keyframe wait | max lag | gateway CPU, cores (ffmpeg) | CPU per camera | RTSP server CPU | memory per camera (ffmpeg PSS + Node) | load avg 1 min, start → end | modes in status |',
    '| --- | --- | ---: | ---: | --- | ---: | --- | --- | ---: | --- | ---: | --- | ---: | ---: | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.profile} | ${r.mode} | ${r.intervalSec} s | ${r.cameras} | ${r.upAfterSec === null ? 'not all' : `${r.upAfterSec} s`} | ${r.online} | ${r.frames} (${r.expected}) | ${r.late} / ${r.duplicate} | ${r.lagP95 === null ? '-' : `${r.lagP95} ms`} | ${b(r.deliveryP95)} / ${b(r.keyframeWaitP95)} | ${r.lagMax === null ? '-' : `${r.lagMax} ms`} | ${r.cpuCores.toFixed(2)} (${r.ffmpegCores.toFixed(2)}) | ${((r.cpuCores / r.cameras) * 1000).toFixed(2)} ms/s | ${r.serverCores.toFixed(2)} | **${memPerCam(r).toFixed(1)} MiB** (${r.ffmpegMiBPerCam.toFixed(1)} + ${(r.nodeMiB / r.cameras).toFixed(2)}) | ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)} | ${Object.entries(
          r.modes,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} |`,
    ),
    '',
    best
      ? `Largest step at one sample per 10 s with p95 lag under 1 s and every camera online: **${best.cameras} cameras** (${best.mode}; target 500${best.cameras >= 500 ? ': met' : ': not met'}).`
      : 'No step at one sample per 10 s kept p95 lag under 1 s with every camera online (target 500 cameras).',
    `Load average (1/5/15 min) ${load0.map((x) => x.toFixed(1)).join(' / ')} at the start, ${load1.map((x) => x.toFixed(1)).join(' / ')} at the end, on 2 cores shared with other jobs; the RTSP simulator runs on the same cores.`,
  ].join('\n');
  const flaps = rows.filter((r) => r.flap);
  const flapTable = flaps.length
    ? [
        '',
        `One dead input (groupN steps, after the measurement): camera 0 of group 0 sits alone on its own RTSP server, which is stopped; the group's other cameras are watched for a while, then the group is restarted as a supervisor would, first with every input listed (the dead server still down), then without the dead one. Lost = slots the healthy cameras of the group missed over that restart (kill of the old process → first frame of each in the new one).`,
        '',
        '| mode | cameras in the group | healthy frames after the death (expected), watch | group ffmpeg exited | first message after the death | restart with the dead input listed | restart without it: back after | slots the healthy cameras lost over the restart |',
        '| --- | ---: | --- | --- | --- | --- | ---: | ---: |',
        ...flaps.map((r) => {
          const f = r.flap!;
          return `| ${r.mode} | ${f.groupSize} | ${f.healthyFrames} (${f.healthyExpected}), ${f.watchSec} s | ${f.groupExitMs === null ? 'no' : `after ${f.groupExitMs} ms`} | ${f.firstMessageMs === null ? 'none' : `${f.firstMessageMs} ms: \`${f.firstMessage.replace(/\|/g, '/')}\``} | ${f.restartAllExitMs === null ? `ran, ${f.restartAllHealthyFrames} healthy frames` : `exit ${f.restartAllCode} after ${f.restartAllExitMs} ms, ${f.restartAllHealthyFrames} frames`} | ${f.restartMs === null ? 'not in 60 s' : `${(f.restartMs / 1000).toFixed(1)} s`} | ${f.healthyLost} (${f.groupSize - 1} cameras) |`;
        }),
      ].join('\n')
    : '';
  const part2Full = part2 + flapTable;
  // BENCH_NO_RECORD=1: a trial run that must not replace the recorded figures.
  if (process.env.BENCH_NO_RECORD !== '1') {
    if (cpuSecs > 0)
      recordResults('ingest', 'Ingest: keyframe-only sampling', `### CPU per sampled frame\n\n${part1}`);
    // A plan with group steps is the several-cameras-per-ffmpeg comparison: its own section.
    if (flaps.length)
      recordResults('ingest-modes-group', 'Ingest: several cameras per ffmpeg process (issue 12)', part2Full);
    else recordResults('ingest-modes', 'Ingest modes side by side (issue 12)', part2);
  }
  process.stderr.write(`${part2Full}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
