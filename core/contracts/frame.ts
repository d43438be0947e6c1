/** One sampled frame, as ingest hands it to the detectors. */
export interface Frame {
  cameraId: string;
  /** Monotonic per camera, starting at 0 for each (re)connection's first frame. */
  seq: number;
  /** Wall-clock capture time, ms since epoch (for file sources: the source's own clock). */
  capturedAt: number;
  /** For file sources and offline analysis: seconds from the start of the video. */
  videoTimeSec?: number;
  /** When the scheduler wanted this sample (ms since epoch); capturedAt - scheduledAt is lag. */
  scheduledAt?: number;
  /** Size of `rgb`. */
  width: number;
  height: number;
  /** Packed RGB24, width*height*3 bytes, at the size the detectors asked for. */
  rgb: Uint8Array;
  /** Evidence JPEG at the source's size (capped at 1280 px wide). */
  jpeg: Uint8Array;
  /** Size of the JPEG image (source size after the cap). */
  jpegWidth: number;
  jpegHeight: number;
}
