import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import sharp from 'sharp';
import { rtspInput } from './ffmpeg-input.js';

/** What one sampler run produces per frame, before the camera runner stamps it. */
export interface RawSample {
  /** Stream time of the frame (seconds, from ffmpeg's showinfo). */
  ptsSec: number;
  /** Wall clock when both outputs of the frame had arrived. */
  arrivedAt: number;
  /** Decoded source size (before scaling). */
  sourceWidth: number;
  sourceHeight: number;
  rgb: Uint8Array;
  jpeg: Uint8Array;
  jpegWidth: number;
  jpegHeight: number;
}

export interface SamplerInput {
  /** URL or path handed to ffmpeg; may carry credentials, so it is never logged. */
  input: string;
  kind: 'rtsp' | 'file';
  transport?: 'tcp' | 'udp';
  /** Seconds between samples (keyframes are picked on a fixed grid of this period). */
  intervalSec: number;
  /** Output size of the RGB frame. */
  width: number;
  height: number;
  /** Take one frame and exit (burst mode). */
  once?: boolean;
  /**
   * Decode every frame instead of keyframes only: for streams whose keyframes are further apart
   * than the interval. ffmpeg then also reports each keyframe's time (onKeyframe), so the runner
   * can see when keyframe-only sampling would serve again.
   */
  fullDecode?: boolean;
  /** Socket timeout for network inputs. */
  ioTimeoutSec?: number;
  /**
   * Keyframe-only RTSP: `pair` (default) is a reader that picks one keyframe per slot by packet
   * selection plus a decoder that decodes only those; `single` is one process that decodes every
   * keyframe (`-skip_frame nokey`) and selects one per slot after decoding: one process less,
   * interval/GOP keyframes decoded per sample instead of one (mode-choice.ts weighs the two).
   */
  pipeline?: 'pair' | 'single';
}

export interface SamplerEvents {
  onSample(s: RawSample): void;
  /** Full-decode and single mode: stream time of every keyframe decoded. */
  onKeyframe?(ptsSec: number): void;
  /** The input's frame rate, once ffmpeg has reported it. */
  onFrameRate?(fps: number): void;
  /** Process ended; `stderrTail` is raw (may contain the URL: redact before showing). */
  onExit(info: {
    code: number | null;
    signal: NodeJS.Signals | null;
    stderrTail: string;
    frames: number;
  }): void;
}

export interface SamplerProcess {
  pid: number | undefined;
  /** Every process of this sampler (reader and decoder for RTSP), for CPU and memory accounting. */
  pids: number[];
  /** Stops ffmpeg (SIGTERM, then SIGKILL after a grace period). Resolves when it has exited. */
  stop(): Promise<void>;
}

const JPEG_MAX_WIDTH = 1280;
/**
 * How early a frame may come and still count for the slot it is nearest to: a quarter of the
 * interval, at most 1 s. RTP timestamps jitter by up to ±1 s under load (ingest-cliff note), far
 * more than the 0.25 s used before. It stays below half the interval so that a keyframe exactly
 * half an interval early (GOP 2 s, interval 4 s) is not taken for the next slot.
 */
export function slotToleranceSec(intervalSec: number): number {
  return Math.min(intervalSec / 4, 1);
}

/**
 * Slot index of a frame at `ptsSec` on the grid that starts at the first kept frame `pts0Sec`.
 * The keyframe picker (keyframePickerExpr) and the select filter (samplerArgs) evaluate this
 * same function in ffmpeg, and slot-clock.ts in Node: the grids agree by construction.
 */
export function slotIndex(ptsSec: number, pts0Sec: number, intervalSec: number): number {
  return Math.floor((ptsSec - pts0Sec + slotToleranceSec(intervalSec)) / intervalSec);
}

/** slotIndex as an ffmpeg expression; `x` is the frame time, ld(0) the first kept time. */
function slotExpr(x: string, intervalSec: number): string {
  return `floor((${x}-ld(0)+${slotToleranceSec(intervalSec)})/${intervalSec})`;
}

/**
 * ffmpeg arguments for keyframe-only sampling. The select filter keeps the first keyframe of
 * each interval slot (floor((t - start)/I) changes), so the long-run rate equals the interval even when
 * the GOP does not divide it; showinfo reports pts and source size of each kept frame on
 * stderr; the kept frames are scaled to at most 1280 px wide and written as MJPEG to stdout.
 */
/** Input of an RTSP camera: only the video track is set up (no audio RTP to receive); credentials via stdin. */
function cameraInput(s: SamplerInput, analyzeDurationUs: number, probeSize: number) {
  return rtspInput({
    url: s.input,
    transport: s.transport ?? 'tcp',
    ioTimeoutSec: s.ioTimeoutSec ?? 10,
    analyzeDurationUs,
    probeSize,
  });
}

/**
 * Packet-level keyframe picker for the noise bitstream filter (ffmpeg 5.1 evaluates `drop` per
 * packet; st/ld registers persist between packets). It keeps the first keyframe of each interval
 * slot on the same grid as `slotIndex` (register 0: first kept time, 1: last kept time, 2: started)
 * and drops every other packet, so the decoder sees exactly one keyframe per sample instead of
 * every keyframe (2.5 per sample on a 2 s GOP at 5 s, 5 on a 2 s GOP at 10 s). A packet without
 * a timestamp (NaN or the NOPTS sentinel: the first one of some RTSP streams with B-frames) is
 * dropped: NUT refuses it.
 */
export function keyframePickerExpr(intervalSec: number): string {
  const t = 'pts*tb';
  const g = (x: string) => slotExpr(x, intervalSec);
  return (
    `if(not(key)+isnan(pts)+lt(pts\\,-1e18)\\,1\\,if(not(ld(2))\\,st(2\\,1)*0+st(0\\,${t})*0+st(1\\,${t})*0\\,` +
    `if(gte(${g(t)}-${g('ld(1)')}\\,1)\\,st(1\\,${t})*0\\,1)))`
  );
}

/**
 * Two-process keyframe sampling for RTSP (ffmpeg 5.1 has no input bitstream filters): a reader
 * copies the camera's video packets, keeps one keyframe per slot (keyframePickerExpr) and pipes
 * them as NUT (timestamps kept); a decoder process decodes only those. The decoder is idle
 * between samples, so per sample ffmpeg decodes one keyframe, scales once and encodes one JPEG.
 */
export function pipelineArgs(s: SamplerInput): {
  reader: string[];
  decoder: string[];
  readerStdin: string | null;
} {
  const reader = [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'info',
    // SDP carries SPS/PPS, so a short probe suffices and the first sample comes sooner.
    ...cameraInput(s, 1_000_000, 500_000).args,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-c',
    'copy',
    '-bsf:v',
    `noise=drop=${keyframePickerExpr(s.intervalSec)}`,
    '-flush_packets',
    '1',
    '-f',
    'nut',
    'pipe:1',
  ];
  const decoder = [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'info',
    '-threads',
    '1',
    '-flags',
    'low_delay',
    // The NUT header carries the codec parameters: nothing to probe, and only keyframes arrive.
    '-analyzeduration',
    '0',
    '-probesize',
    '32',
    '-f',
    'nut',
    '-i',
    'pipe:0',
    '-filter_threads',
    '1',
    '-filter_complex',
    `[0:v:0]showinfo,scale='min(${JPEG_MAX_WIDTH},iw)':-2:flags=bilinear[j]`,
    ...jpegOutputArgs([]),
  ];
  return { reader, decoder, readerStdin: cameraInput(s, 1_000_000, 500_000).stdin };
}

function jpegOutputArgs(frames: string[]): string[] {
  return [
    '-map',
    '[j]',
    ...frames,
    '-fps_mode',
    'passthrough',
    '-flush_packets',
    '1',
    '-c:v',
    'mjpeg',
    '-threads',
    '1',
    '-q:v',
    '4',
    '-f',
    'image2pipe',
    'pipe:1',
  ];
}

/** What runSampler writes to the single sampler process's stdin (the camera URL with credentials), if anything. */
export function samplerStdin(s: SamplerInput): string | null {
  return s.kind === 'rtsp' ? cameraInput(s, 2_000_000, 2_000_000).stdin : null;
}

export function samplerArgs(s: SamplerInput): string[] {
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  if (s.kind !== 'rtsp') {
    // A file plays on its own clock, looped, like a camera would deliver it.
    args.push('-re', '-stream_loop', '-1');
  }
  // One decoder thread: frame threads add latency and memory per camera, and a node with 2,000
  // cameras has no spare cores to give each stream several.
  args.push('-threads', '1', '-flags', 'low_delay');
  if (!s.fullDecode) args.push('-skip_frame', 'nokey');
  if (s.kind === 'rtsp') args.push(...cameraInput(s, 2_000_000, 2_000_000).args);
  else args.push('-analyzeduration', '2000000', '-probesize', '2000000', '-i', s.input);
  args.push('-an', '-sn', '-dn');
  const I = s.intervalSec;
  // The grid starts at the first frame, so when the GOP divides the interval every slot opens
  // exactly on a keyframe and no sample waits for one. Same grid as slotIndex.
  const g = (x: string) => slotExpr(x, I);
  // ld(0) holds the first kept frame's time (st(0,t) on the first frame): the grid starts
  // there, and runSampler's caller rebuilds the same grid from the first showinfo pts.
  const select = s.once
    ? 'null'
    : `select='if(isnan(prev_selected_t)\\,st(0\\,t)*0+1\\,gte(${g('t')}-${g('prev_selected_t')}\\,1))'`;
  // One output (the evidence JPEG); the detector RGB is made from it by sharp in libuv's thread
  // pool. The mjpeg encoder must run single-threaded: with frame threads it holds each frame
  // until the next one arrives, which made every sample one interval late.
  // Full decode: a second branch reports every keyframe's time (showinfo@key, one line per
  // GOP) so the runner can tell when keyframe-only sampling would serve again.
  // Single pipeline: every decoded frame is a keyframe, and the same branch measures the GOP.
  const keyBranch =
    (s.fullDecode || s.pipeline === 'single') && !s.once
      ? `split=2[k][v];[k]select='eq(key\\,1)',showinfo@key,nullsink;[v]`
      : '';
  args.push(
    '-filter_threads',
    '1',
    '-filter_complex',
    `[0:v:0]${keyBranch}${select},showinfo,scale='min(${JPEG_MAX_WIDTH},iw)':-2:flags=bilinear[j]`,
  );
  args.push(...jpegOutputArgs(s.once ? ['-frames:v', '1'] : []));
  return args;
}

/** Size from a JPEG's SOF marker. */
export function jpegSize(buf: Uint8Array): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < buf.length) {
    if (buf[i] !== 0xff) {
      i++;
      continue;
    }
    const m = buf[i + 1]!;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return { height: (buf[i + 5]! << 8) | buf[i + 6]!, width: (buf[i + 7]! << 8) | buf[i + 8]! };
    }
    const len = (buf[i + 2]! << 8) | buf[i + 3]!;
    i += 2 + len;
  }
  return null;
}

/** Splits a concatenated MJPEG byte stream into images (EOI cannot occur inside entropy data: 0xFF is stuffed). */
export function jpegSplitter(onImage: (jpeg: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let from = 0;
    for (;;) {
      const end = pending.indexOf(Buffer.from([0xff, 0xd9]), from + 2);
      if (end < 0) break;
      onImage(Buffer.from(pending.subarray(from, end + 2)));
      from = end + 2;
    }
    pending = from ? Buffer.from(pending.subarray(from)) : pending;
  };
}

/** Writes the input list (credentials) to ffmpeg's stdin and closes it; a dead child's EPIPE is reported by its exit. */
function feedStdin(p: ChildProcess, text: string | null): void {
  if (text === null || !p.stdin) return;
  p.stdin.on('error', () => {});
  p.stdin.end(text);
}

const SHOWINFO = /Parsed_showinfo.*?pts_time:\s*(-?[\d.]+).*?\bs:(\d+)x(\d+)/;
const KEYINFO = /showinfo@key.*?pts_time:\s*(-?[\d.]+)/;
/** The input stream line: `Stream #0:0…: Video: h264 …, 15 fps, 15 tbr, 90k tbn`. */
const FPS = /Stream #0:\d.*Video:.*?, ([\d.]+) fps/;

/** Runs one ffmpeg sampler process. Decoding and JPEG encoding happen in the child, the RGB resize in sharp's thread pool. */
export function runSampler(s: SamplerInput, ev: SamplerEvents, ffmpegPath = 'ffmpeg'): SamplerProcess {
  const piped = s.kind === 'rtsp' && !s.once && !s.fullDecode && s.pipeline !== 'single';
  let reader: ChildProcess | null = null;
  let child: ChildProcess;
  if (piped) {
    const a = pipelineArgs(s);
    reader = spawn(ffmpegPath, a.reader, {
      stdio: [a.readerStdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    feedStdin(reader, a.readerStdin);
    child = spawn(ffmpegPath, a.decoder, { stdio: ['pipe', 'pipe', 'pipe'] });
    (reader.stdout as Readable).pipe(child.stdin!);
    // EPIPE when the decoder is gone; both exits are reported below.
    child.stdin!.on('error', (e: Error) => {
      tail += `\n[pipe] ${e.message}`;
    });
  } else {
    const stdin = samplerStdin(s);
    child = spawn(ffmpegPath, samplerArgs(s), {
      stdio: [stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    feedStdin(child, stdin);
  }
  const infos: { pts: number; w: number; h: number }[] = [];
  const jpegs: { jpeg: Buffer; at: number }[] = [];
  let frames = 0;
  let tail = '';
  let lineBuf = '';
  // Samples leave in order even though each RGB conversion is asynchronous.
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;
  const pair = () => {
    while (infos.length && jpegs.length) {
      const info = infos.shift()!;
      const { jpeg, at } = jpegs.shift()!;
      const size = jpegSize(jpeg) ?? { width: info.w, height: info.h };
      frames++;
      chain = chain.then(async () => {
        let rgb: Buffer;
        try {
          rgb = await sharp(jpeg)
            .resize(s.width, s.height, { fit: 'fill', kernel: 'linear' })
            .removeAlpha()
            .raw()
            .toBuffer();
        } catch (e) {
          tail += `\n[rgb] ${e instanceof Error ? e.message : String(e)}`;
          return;
        }
        if (stopped) return;
        ev.onSample({
          ptsSec: info.pts,
          arrivedAt: at,
          sourceWidth: info.w,
          sourceHeight: info.h,
          rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength),
          jpeg: new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength),
          jpegWidth: size.width,
          jpegHeight: size.height,
        });
      });
    }
  };
  (child.stdout as Readable).on(
    'data',
    jpegSplitter((j) => {
      jpegs.push({ jpeg: j, at: Date.now() });
      pair();
    }),
  );
  // The reader's stderr holds the camera-side errors (401, refused, not RTSP) the classifier needs.
  let readerTail = '';
  let fpsSeen = false;
  const scanFps = (text: string) => {
    if (fpsSeen) return;
    const m = FPS.exec(text);
    if (m && Number(m[1]) > 0) {
      fpsSeen = true;
      ev.onFrameRate?.(Number(m[1]));
    }
  };
  (reader?.stderr as Readable | undefined)?.on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    scanFps(text);
    readerTail = (readerTail + text).slice(-3000);
  });
  (child.stderr as Readable).on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    lineBuf += text;
    const lines = lineBuf.split('\n');
    lineBuf = lines.pop() ?? '';
    for (const line of lines) {
      const k = s.fullDecode || s.pipeline === 'single' ? KEYINFO.exec(line) : null;
      if (k) {
        ev.onKeyframe?.(Number(k[1]));
        continue;
      }
      const m = SHOWINFO.exec(line);
      if (m) {
        infos.push({ pts: Number(m[1]), w: Number(m[2]), h: Number(m[3]) });
        pair();
      } else if (line.trim()) {
        if (!reader) scanFps(line);
        tail = (tail + line + '\n').slice(-3000);
      }
    }
  });
  // Pipes can error (EPIPE) when the child dies; the exit event reports the outcome.
  for (const stream of [child.stdout, child.stderr, reader?.stdout, reader?.stderr]) {
    (stream as Readable | null)?.on('error', (e: Error) => {
      tail += `\n[pipe] ${e.message}`;
    });
  }
  let exited = false;
  const exitP = new Promise<void>((resolve) => {
    child.once('error', (e) => {
      // spawn failure (ENOENT): no exit event follows
      if (exited) return;
      exited = true;
      ev.onExit({ code: -1, signal: null, stderrTail: `spawn failed: ${e.message}`, frames });
      resolve();
    });
    // With a reader, the outcome is the reader's (it talks to the camera); the pair counts as
    // exited when both have, and either one ending takes the other down.
    let readerExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({
      code: null,
      signal: null,
    });
    if (reader) {
      const r = reader;
      readerExit = new Promise((res) => {
        r.once('error', (e) => {
          readerTail += `\nspawn failed: ${e.message}`;
          res({ code: -1, signal: null });
        });
        r.once('close', (code, signal) => {
          // The decoder ends on EOF; kill it in case it hangs on a partial packet.
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          res({ code, signal });
        });
      });
    }
    child.once('close', (code, signal) => {
      if (reader && reader.exitCode === null && reader.signalCode === null) reader.kill('SIGTERM');
      void readerExit.then((rx) => {
        if (exited) return;
        exited = true;
        pair();
        // When the reader failed, the decoder's complaints (EOF, invalid data) are only the
        // consequence: classify on the reader's own output.
        const readerFailed = reader !== null && (rx.code !== 0 || rx.signal !== null);
        const outcome = readerFailed ? rx : { code, signal };
        const stderrTail = readerFailed ? readerTail : readerTail + tail + lineBuf;
        // Let the RGB conversions of frames already received finish before reporting the exit.
        void chain.then(() => {
          ev.onExit({ code: outcome.code, signal: outcome.signal, stderrTail, frames });
          resolve();
        });
      });
    });
  });
  const procs = reader ? [reader, child] : [child];
  return {
    // The process that talks to the camera (tests kill it to simulate a crash).
    pid: procs[0]!.pid,
    pids: procs.map((p) => p.pid).filter((p): p is number => p !== undefined),
    async stop() {
      stopped = true;
      if (exited) return;
      for (const p of procs) p.kill('SIGTERM');
      const t = setTimeout(() => {
        for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      }, 2_000);
      await exitP;
      clearTimeout(t);
    },
  };
}
