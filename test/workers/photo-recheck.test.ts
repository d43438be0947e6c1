/**
 * The view check of the 二次识别 re-check on a disposal photo (app/photo-recheck.ts): a photo of a
 * different view cannot pass, whatever the model says about the alert's boxes there. Measured
 * on the shared footage: without this check every photo of another view passed (8/8 parking,
 * 18/24 loitering; `npm run eval:photo-recheck`, bench/RESULTS.md). The model itself is not
 * loaded here (the decision rule is what is pinned; workers-api.test.ts runs the real model):
 * its verdict is a recorded callback.
 */
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { recheckPhoto, SAME_VIEW_MIN, viewSimilarity } from '../../app/photo-recheck.js';
import type { Alert } from '../../core/contracts/alert.js';
import type { Frame } from '../../core/contracts/frame.js';
import { mediaPath } from '../helpers/media.js';
import { VAN_BOX } from './fixtures.js';

const still = (clip: string, sec: number): Buffer =>
  execFileSync('ffmpeg', [
    '-loglevel',
    'error',
    '-ss',
    String(sec),
    '-i',
    mediaPath(clip),
    '-frames:v',
    '1',
    '-f',
    'image2pipe',
    '-vcodec',
    'mjpeg',
    '-q:v',
    '3',
    '-',
  ]);

const alert = { id: 'a1', cameraId: 'cam-1', boxes: [VAN_BOX] } as Partial<Alert> as Alert;

let camera: Buffer;
let sameViewLater: Buffer;
let otherView: Buffer;

beforeAll(() => {
  camera = still('vtest.avi', 10);
  sameViewLater = still('vtest.avi', 60);
  otherView = still('highway-traffic.avi', 10);
});

/** A model that finds nothing at the alert's boxes (a pass), recording what it was shown. */
function absentModel(): { seen: Frame[]; fn: (f: Frame) => Promise<{ present: boolean; score: number }> } {
  const seen: Frame[] = [];
  return { seen, fn: (f) => (seen.push(f), Promise.resolve({ present: false, score: 0 })) };
}

describe('recheckPhoto', () => {
  it('does not close on a photo of a different view, even when the model finds nothing there', async () => {
    const m = absentModel();
    const r = await recheckPhoto(alert, otherView, camera, 1, m.fn);
    expect(r.present).toBe(true);
    expect(r.score).toBe(0);
    expect(r.sameView).toBeLessThan(SAME_VIEW_MIN);
    expect(m.seen).toHaveLength(0);
  });

  it("takes the model's verdict on a photo of the camera's view (another time, phone-sized, lower quality)", async () => {
    const phone = await sharp(sameViewLater).resize({ width: 1920 }).jpeg({ quality: 40 }).toBuffer();
    const m = absentModel();
    const r = await recheckPhoto(alert, phone, camera, 1, m.fn);
    expect(r).toMatchObject({ present: false, score: 0 });
    expect(r.sameView).toBeGreaterThanOrEqual(SAME_VIEW_MIN);
    expect(m.seen).toHaveLength(1);
    expect([m.seen[0]!.width, m.seen[0]!.height]).toEqual([512, 512]);
  });

  it("without the alert's camera frame, the model's verdict stands", async () => {
    const m = absentModel();
    const r = await recheckPhoto(alert, otherView, null, 1, m.fn);
    expect(r).toEqual({ present: false, score: 0, sameView: null });
  });
});

describe('viewSimilarity', () => {
  it('is high for the same view with the van painted out, low for another clip', async () => {
    const patch = await sharp({
      create: { width: 130, height: 90, channels: 3, background: { r: 128, g: 128, b: 124 } },
    })
      .png()
      .toBuffer();
    const vanGone = await sharp(camera)
      .composite([{ input: patch, left: 630, top: 30 }])
      .jpeg()
      .toBuffer();
    expect(await viewSimilarity(vanGone, camera)).toBeGreaterThan(0.8);
    expect(await viewSimilarity(otherView, camera)).toBeLessThan(0.2);
    expect(await viewSimilarity(still('one-by-one-person-detection.mp4', 30), camera)).toBeLessThan(0.2);
  });
});
