/**
 * The measurement behind "The shared decoder behind such a demuxer, measured" in docs/decisions.md; not
 * a test. One ffmpeg reads Annex-B H.264 keyframes on stdin from two cameras of different sizes
 * (sub-stream vtest 640x360 and car-detection 768x432), as a decoder pool behind an in-process
 * RTSP demuxer would. Each access unit is preceded by a user-data-unregistered SEI carrying a
 * request tag and followed by an access unit delimiter; the probe checks that showinfo prints
 * every tag back with its frame (so a frame is matched to its camera by tag, never by order),
 * that each JPEG has its camera's size, and how many inputs later each JPEG comes out.
 *
 *   GAP_MS=300 N=12 npx tsx test/ingest/shared-decoder-probe.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jpegSize, jpegSplitter } from '../../features/ingest/ffmpeg-sampler.js';
import { mediaPath, x264JoinableArgs } from '../helpers/media.js';

const GAP_MS = Number(process.env.GAP_MS ?? 300);
const N = Number(process.env.N ?? 12);
const dir = mkdtempSync(join(tmpdir(), 'gw-shared-decoder-'));
const ff = (args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

/** Keyframes only, Annex B, each starting with its SPS (h264_mp4toannexb repeats SPS/PPS on IDR). */
function keyframes(name: string, input: string[]): Buffer[] {
  const out = join(dir, `${name}.h264`);
  ff([...input, '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb,noise=drop=not(key)', '-f', 'h264', out]);
  const buf = readFileSync(out);
  const starts: number[] = [];
  for (let i = 0; i + 4 < buf.length; i++)
    if (
      buf[i] === 0 &&
      buf[i + 1] === 0 &&
      buf[i + 2] === 0 &&
      buf[i + 3] === 1 &&
      (buf[i + 4]! & 0x1f) === 7
    )
      starts.push(i);
  return starts.map((s, k) => buf.subarray(s, starts[k + 1] ?? buf.length));
}

const sub = join(dir, 'sub.mp4');
// The sub-stream profile of bench:ingest (640x360, 15 fps, 384 kb/s, 2 s GOP).
ff([
  ...['-i', mediaPath('vtest.avi'), '-t', '20', '-vf', 'scale=640:360,fps=15'],
  ...x264JoinableArgs(30, true),
  ...['-b:v', '384k', sub],
]);
const cams = [
  { name: 'sub', aus: keyframes('sub', ['-i', sub]), size: '640x360' },
  { name: 'car', aus: keyframes('car', ['-t', '10', '-i', mediaPath('car-detection.mp4')]), size: '768x432' },
];

const UUID = Buffer.from('67726964776174636867726964776174', 'hex');
/** SEI type 5 (user data unregistered): UUID + tag; tags stay under 255 bytes (one size byte). */
const sei = (tag: string) => {
  const payload = Buffer.concat([UUID, Buffer.from(tag)]);
  return Buffer.concat([Buffer.from([0, 0, 0, 1, 6, 5, payload.length]), payload, Buffer.from([0x80])]);
};
const AUD = Buffer.from([0, 0, 0, 1, 9, 0xf0]);

const p = spawn(
  'ffmpeg',
  [
    ...['-hide_banner', '-nostdin', '-loglevel', 'repeat+info', '-threads', '1', '-flags', 'low_delay'],
    ...['-analyzeduration', '0', '-probesize', '32', '-f', 'h264', '-i', 'pipe:0'],
    ...['-filter_threads', '1', '-vf', "showinfo,scale='min(1280,iw)':-2", '-fps_mode', 'passthrough'],
    ...['-flush_packets', '1', '-c:v', 'mjpeg', '-threads', '1', '-q:v', '4', '-f', 'image2pipe', 'pipe:1'],
  ],
  { stdio: ['pipe', 'pipe', 'pipe'] },
);
const sent: { tag: string; at: number; cam: string; size: string }[] = [];
const tags: string[] = [];
let lines = '';
p.stderr.on('data', (d: Buffer) => {
  lines += d.toString('utf8');
  const all = lines.split('\n');
  lines = all.pop() ?? '';
  // Encoders write their own unregistered SEI (x264 its version string on every keyframe with
  // repeat-headers): only ours, by UUID, is a tag.
  let ours = false;
  for (const l of all) {
    const u = /UUID=([0-9a-f-]+)/.exec(l);
    if (u) ours = u[1]!.replace(/-/g, '') === UUID.toString('hex');
    const m = /User Data=([0-9a-f]+)/.exec(l);
    if (m && ours) tags.push(Buffer.from(m[1]!, 'hex').toString('utf8'));
  }
});
// stdout and stderr are read independently, so a JPEG may arrive before its showinfo line:
// JPEGs and tags are paired by position once ffmpeg has exited.
const jpegs: { size: string; at: number }[] = [];
p.stdout.on(
  'data',
  jpegSplitter((jpeg) => {
    const s = jpegSize(jpeg);
    jpegs.push({ size: s ? `${s.width}x${s.height}` : '?', at: Date.now() });
  }),
);
for (let k = 0; k < N; k++) {
  const cam = cams[k % cams.length]!;
  const au = cam.aus[Math.floor(k / cams.length) % cam.aus.length]!;
  const tag = `gw${k + 1}`;
  sent.push({ tag, at: Date.now(), cam: cam.name, size: cam.size });
  p.stdin.write(Buffer.concat([sei(tag), au, AUD]));
  await new Promise((r) => setTimeout(r, GAP_MS));
}
await new Promise((r) => setTimeout(r, 1_500));
p.stdin.end();
await new Promise((r) => p.once('close', r));
// "inputs sent since": how many access units had been written when the JPEG came out.
const rows = jpegs.map((j, k) => {
  const want = sent[k]!;
  const since = sent.filter((x) => x.at <= j.at).length - 1 - k;
  return `| ${k + 1} | ${want.cam} | ${tags[k] ?? '(none)'} | ${want.tag} | ${j.size} (${want.size}) | ${j.at - want.at} ms | ${since} |`;
});
process.stdout.write(
  `GAP_MS=${GAP_MS} N=${N}: ${jpegs.length} JPEGs for ${N} access units\n` +
    '| JPEG | camera sent | tag printed | tag sent | JPEG size (camera) | after its input | inputs sent since |\n| --- | --- | --- | --- | --- | --- | --- |\n' +
    rows.join('\n') +
    '\n',
);
rmSync(dir, { recursive: true, force: true });
