import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { CameraSchema } from '../../../core/contracts/camera-schema.js';
import type { LoadedCamera } from '../../../core/contracts/loaded-camera.js';
import { REPO_ROOT } from '../../helpers/media.js';

export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'detectors');

/** A logger whose lines the test can read (and that stays quiet on the console). */
export function captureLogger(level = 'info'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export function camera(raw: Record<string, unknown>): LoadedCamera {
  const cam = CameraSchema.parse({
    name: 'test camera',
    source: { kind: 'file', path: 'x.mp4' },
    location: { lon: 120.15, lat: 30.28 },
    ...raw,
  });
  return { ...cam, file: 'test.yaml', line: 1, baseDir: REPO_ROOT, wgs84: { lon: 120.15, lat: 30.28 } };
}

/** Frames of a real clip, decoded by ffmpeg at exact times, as RGB24 at width×height. */
export function decodeFrames(
  video: string,
  times: readonly number[],
  width: number,
  height: number,
): Uint8Array[] {
  return times.map((t) => {
    const buf = execFileSync(
      'ffmpeg',
      [
        '-v',
        'error',
        '-ss',
        String(t),
        '-i',
        video,
        '-frames:v',
        '1',
        '-vf',
        `scale=${width}:${height}`,
        '-pix_fmt',
        'rgb24',
        '-f',
        'rawvideo',
        'pipe:1',
      ],
      { maxBuffer: 64 << 20 },
    );
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength).slice();
  });
}
