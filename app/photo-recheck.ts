import sharp from 'sharp';
import type { Alert } from '../core/contracts/alert.js';
import type { Frame } from '../core/contracts/frame.js';

/** The detectors' input size, as ingest is asked for (build-gateway.ts `frameSize`). */
export const RECHECK_FRAME_SIZE = 512;

/**
 * Least view similarity (viewSimilarity) between a disposal photo and the alert's camera frame
 * for the photo's verdict to count. Heuristic: below it the photo is taken as showing some
 * other view, where the alert's boxes mean nothing, and the alert is not closed on it. Measured
 * by `npm run eval:photo-recheck` (docs/workers.md, bench/RESULTS.md).
 */
export const SAME_VIEW_MIN = 0.5;

/**
 * A grid worker's disposal photo as the frame the 二次识别 re-check judges (features/workers):
 * decoded and stretched to the model's input like a camera sample. A heuristic: the re-check
 * compares detections with the alert's boxes, which assumes the photo is taken from roughly
 * the camera's viewpoint; a photo from elsewhere tends to pass (docs/workers.md).
 */
export async function photoRecheckFrame(alert: Alert, jpeg: Buffer, at: number): Promise<Frame> {
  const img = sharp(jpeg, { limitInputPixels: 50_000_000 });
  const meta = await img.metadata();
  const rgb = await img
    .clone()
    .resize(RECHECK_FRAME_SIZE, RECHECK_FRAME_SIZE, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer();
  return {
    cameraId: alert.cameraId,
    seq: 0,
    capturedAt: at,
    width: RECHECK_FRAME_SIZE,
    height: RECHECK_FRAME_SIZE,
    rgb: new Uint8Array(rgb),
    jpeg,
    jpegWidth: meta.width ?? 0,
    jpegHeight: meta.height ?? 0,
  };
}

const THUMB_W = 48;
const THUMB_H = 36;

async function thumb(img: Buffer): Promise<Float64Array> {
  const px = await sharp(img, { limitInputPixels: 50_000_000 })
    .resize(THUMB_W, THUMB_H, { fit: 'fill' })
    .greyscale()
    .removeAlpha()
    .raw()
    .toBuffer();
  const out = new Float64Array(THUMB_W * THUMB_H);
  for (let i = 0; i < out.length; i++) out[i] = px[i]!;
  return out;
}

/**
 * How much a photo looks like the camera's view: the correlation (-1..1) of the two pictures'
 * 48×36 grey thumbnails, both stretched to the same size. Blind to brightness, JPEG quality and
 * resizing; a removed van changes a few cells only, while another place, or a close-up of the
 * spot, changes the whole layout.
 */
export async function viewSimilarity(photo: Buffer, cameraJpeg: Buffer): Promise<number> {
  const [a, b] = await Promise.all([thumb(photo), thumb(cameraJpeg)]);
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

export interface PhotoRecheckResult {
  present: boolean;
  score: number;
  /** viewSimilarity to the camera frame, or null when the alert has none. */
  sameView: number | null;
}

/**
 * 二次识别 on a disposal photo: the model's verdict on the photo, except that a photo which does
 * not show the camera's view (viewSimilarity below SAME_VIEW_MIN) cannot pass: it is reported
 * present with score 0, so the alert reopens and is dispatched again, rather than closed on a
 * picture of somewhere else. Without a camera frame to compare with, the model's verdict stands.
 */
export async function recheckPhoto(
  alert: Alert,
  photo: Buffer,
  cameraJpeg: Buffer | null,
  at: number,
  recheck: (frame: Frame, alert: Alert) => Promise<{ present: boolean; score: number }>,
): Promise<PhotoRecheckResult> {
  const sameView = cameraJpeg ? await viewSimilarity(photo, cameraJpeg) : null;
  if (sameView !== null && sameView < SAME_VIEW_MIN) return { present: true, score: 0, sameView };
  const r = await recheck(await photoRecheckFrame(alert, photo, at), alert);
  return { present: r.present, score: r.score, sameView };
}
