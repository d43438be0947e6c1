import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  createDetectors,
  type CreateDetectorsOptions,
  type Detectors,
} from '../../features/detectors/index.js';
import { ARTIFACTS_DIR, mediaPath } from '../helpers/media.js';

/** The roster the worker tests use (grids of test/wall/fixtures/grids.geojson). */
export const ROSTER = `workers:
  - { id: w001, name: 王芳, grids: ['330101001001001'], role: leader, phone: '13800000001', account: wangfang }
  - { id: w002, name: 李明, grids: ['330101001001001'], role: full_time, account: liming }
  - { id: w003, name: 陈静, grids: ['330101001001002'], role: part_time }
  - { id: w020, name: 孙涛, grids: ['330101002'], role: instructor, phone: '13800000020' }
  - { id: w099, name: 已离职, grids: ['330101001001001'], role: part_time, active: false }
`;

export const WORKER_USERS = [
  { username: 'wangfang', displayName: '王芳', role: 'viewer' as const, scope: '330101001001001' },
  { username: 'liming', displayName: '李明', role: 'viewer' as const, scope: '330101001001001' },
];

/** The van parked at the top right of vtest.avi (x 652-722, y 44-100 of 768×576), a little wider. */
export const VAN_BOX = { x1: 0.82, y1: 0.05, x2: 0.95, y2: 0.21, label: 'truck', score: 0.5 };

/**
 * Disposal photos from real footage: a vtest.avi frame (10 s) with the van still parked, and the
 * same frame with the van's bay painted over in road grey (the van "moved away").
 */
export async function disposalPhotos(): Promise<{ vanThere: Buffer; vanGone: Buffer }> {
  const dir = join(ARTIFACTS_DIR, 'workers');
  mkdirSync(dir, { recursive: true });
  const there = join(dir, 'vtest-10.jpg');
  if (!existsSync(there))
    execFileSync('ffmpeg', [
      '-y',
      '-loglevel',
      'error',
      '-ss',
      '10',
      '-i',
      mediaPath('vtest.avi'),
      '-frames:v',
      '1',
      '-q:v',
      '3',
      there,
    ]);
  const vanThere = readFileSync(there);
  const patch = await sharp({
    create: { width: 130, height: 90, channels: 3, background: { r: 128, g: 128, b: 124 } },
  })
    .png()
    .toBuffer();
  const vanGone = await sharp(vanThere)
    .composite([{ input: patch, left: 630, top: 30 }])
    .jpeg({ quality: 90 })
    .toBuffer();
  return { vanThere, vanGone };
}

/**
 * The real detect role with camera frames dropped: the model pool and plugins load as in
 * production so 二次识别 on a disposal photo runs the real model, while the harness cameras'
 * own frames raise nothing the test did not inject. The harness cameras name zone rules without
 * detector settings (the wall suites need none): the plugins' camera check is skipped for them.
 */
export function recheckOnlyDetectors(): (o: CreateDetectorsOptions) => Promise<Detectors> {
  return async (o) => {
    const real = await createDetectors(o);
    return {
      ...real,
      plugins: { ...real.plugins, validateCamera: () => [] },
      pipeline: { ...real.pipeline, process: () => Promise.resolve() },
    };
  };
}
