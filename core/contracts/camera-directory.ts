export const CAMERA_STATES = [
  'connecting',
  'online',
  'degraded',
  'offline',
  'misconfigured',
  'disabled',
] as const;
export type CameraState = (typeof CAMERA_STATES)[number];

/** How ingest samples a camera now, and why (features/ingest/mode-choice.ts). */
export interface CameraIngestStatus {
  mode: 'pair' | 'single' | 'full' | 'burst' | 'snapshot';
  modeReason: string;
  /** Configured seconds between samples. */
  intervalSec: number;
  /** Seconds between samples now: longer when the node's decode budget stretched it. */
  effectiveIntervalSec: number;
}

/** What the wall and health may know about a camera: never its URL or credentials. */
export interface CameraStatus {
  id: string;
  name: string;
  deviceId?: string;
  gridCode: string | null;
  sourceKind: 'rtsp' | 'onvif' | 'snapshot' | 'file';
  state: CameraState;
  reason: string | null;
  since: number;
  lastFrameAt: number | null;
  framesSampled: number;
  restarts: number;
  lagP95Ms: number | null;
  /** Where the camera stands (WGS84, from its config): the wall's map draws it there. */
  location?: { lon: number; lat: number };
  /** Present for cameras run by ingest. */
  ingest?: CameraIngestStatus;
}

export interface LiveViewTicket {
  cameraId: string;
  /** Same-origin paths or URLs carrying a short-lived signed token; never credentials. */
  flvUrl: string;
  wsFlvUrl: string;
  expiresAt: number;
}

/** Implemented by ingest; used by the wall (camera panel, live view) and health. */
export interface CameraDirectory {
  list(): CameraStatus[];
  get(id: string): CameraStatus | undefined;
  startLiveView(cameraId: string): Promise<LiveViewTicket>;
  /** Latest sampled JPEG of a camera, if any. */
  lastFrame(cameraId: string): Uint8Array | null;
  onState(listener: (s: CameraStatus) => void): () => void;
}

/** A camera config entry that failed validation, shown in health and the admin view. */
export interface RejectedEntry {
  file: string;
  cameraId: string | null;
  errors: string[];
}
