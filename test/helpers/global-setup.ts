import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { which } from '../../core/util/which.js';
import { ARTIFACTS_DIR, MEDIA_DIR, mediaPath, vtestH264, x264JoinableArgs } from './media.js';

/** Fails fast with a clear message when the machine lacks what the real-parts tests need. */
export default function setup(): void {
  const missing = ['ffmpeg', 'ffprobe', 'redis-server'].filter((b) => !which(b));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run bash scripts/setup.sh --test`);
  if (!existsSync(MEDIA_DIR)) throw new Error(`footage folder ${MEDIA_DIR} missing; set GRIDWATCH_MEDIA_DIR`);
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const out = vtestH264();
  const src = mediaPath('vtest.avi');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    const tmp = join(ARTIFACTS_DIR, 'vtest.tmp.mp4');
    execFileSync('ffmpeg', ['-y', '-loglevel', 'error', '-i', src, '-an', ...x264JoinableArgs(20), tmp]);
    renameSync(tmp, out);
  }
}
