import sharp from 'sharp';
import type { Alert } from '../core/contracts/alert.js';
import type { Frame } from '../core/contracts/frame.js';

/** The detectors' input size, as ingest is asked for (build-gateway.ts `frameSize`). */
export const RECHECK_FRAME_SIZE = 512;

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
