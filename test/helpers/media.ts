import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Folder with the shared real footage; GRIDWATCH_MEDIA_DIR overrides ../shared/media. */
export const MEDIA_DIR = resolve(process.env.GRIDWATCH_MEDIA_DIR ?? join(REPO_ROOT, '..', 'shared', 'media'));

/** Cache for artefacts derived from the footage (H.264 re-encodes); not committed. */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test', '.artifacts');

export function mediaPath(name: string): string {
  const p = join(MEDIA_DIR, name);
  if (!existsSync(p))
    throw new Error(`real footage ${name} not found in ${MEDIA_DIR}; set GRIDWATCH_MEDIA_DIR`);
  return p;
}

/** vtest.avi re-encoded to H.264 with SPS/PPS before every keyframe (made by global setup). */
export function vtestH264(): string {
  return join(ARTIFACTS_DIR, 'vtest.mp4');
}

/**
 * x264 arguments for test footage an RTSP client can join mid-stream: SPS/PPS repeated before
 * every keyframe, no B-frames, a keyframe every `gop` frames (`fixed`: exactly, no scene cuts).
 */
export function x264JoinableArgs(gop: number, fixed = false): string[] {
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-bf',
    '0',
    '-g',
    String(gop),
    ...(fixed ? ['-keyint_min', String(gop), '-sc_threshold', '0'] : []),
    '-x264-params',
    'repeat-headers=1',
  ];
}
