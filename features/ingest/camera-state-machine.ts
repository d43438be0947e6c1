import type { CameraState } from '../../core/contracts/camera-directory.js';
import { Codes } from '../../core/errors.js';
import type { CameraReasonCode } from './classify-failure.js';

/**
 * The camera's supervision state as data: states, events and the transitions between them,
 * with no I/O and no clock of its own (the caller passes `now`). The runner feeds it events and
 * publishes the snapshot it returns; this file is tested alone (test/ingest/camera-state-machine.test.ts).
 */
export type CameraEvent =
  /** A timely frame arrived. */
  | { type: 'frame' }
  /** A frame arrived, but most recent ones were late (p95 beyond max(2 s, interval)). */
  | { type: 'lagging'; message: string }
  /** A frame arrived, at an interval the node's decode budget stretched beyond the configured one. */
  | { type: 'stretched'; message: string }
  /**
   * No frame for the stall limit, but the pipeline waited for a CPU (starvation.ts): the node is
   * overloaded, the camera is not restarted. Degraded (a node problem, not a camera going down:
   * no camera_offline finding) until a frame arrives or the watchdog restarts it as a stall.
   */
  | { type: 'starved'; message: string }
  /** The stream changed size: degraded for `RESIZE_HOLD_FRAMES` frames. */
  | { type: 'resized'; message: string }
  /** The pipeline ended or could not start: worth retrying soon. */
  | { type: 'offline'; code: CameraReasonCode; message: string }
  /** Needs someone to fix config or the camera. */
  | { type: 'misconfigured'; code: CameraReasonCode; message: string }
  /** The camera_offline finding for the current episode was raised. */
  | { type: 'offline_reported' };

export type CameraEventType = CameraEvent['type'];

/** Which state each event leads to from each state; a missing entry is an invalid transition. */
export const TRANSITIONS: Readonly<Record<CameraState, Partial<Record<CameraEventType, CameraState>>>> = {
  disabled: {},
  connecting: {
    frame: 'online',
    lagging: 'degraded',
    stretched: 'degraded',
    starved: 'degraded',
    resized: 'degraded',
    offline: 'offline',
    misconfigured: 'misconfigured',
  },
  online: {
    frame: 'online',
    lagging: 'degraded',
    stretched: 'degraded',
    starved: 'degraded',
    resized: 'degraded',
    offline: 'offline',
    misconfigured: 'misconfigured',
  },
  // A degraded camera returns to online only after its hold (see RESIZE_HOLD_FRAMES) is used up.
  degraded: {
    frame: 'online',
    lagging: 'degraded',
    stretched: 'degraded',
    starved: 'degraded',
    resized: 'degraded',
    offline: 'offline',
    misconfigured: 'misconfigured',
  },
  offline: {
    frame: 'online',
    lagging: 'degraded',
    stretched: 'degraded',
    starved: 'degraded',
    resized: 'degraded',
    offline: 'offline',
    misconfigured: 'misconfigured',
    offline_reported: 'offline',
  },
  misconfigured: {
    frame: 'online',
    lagging: 'degraded',
    stretched: 'degraded',
    starved: 'degraded',
    resized: 'degraded',
    offline: 'offline',
    misconfigured: 'misconfigured',
    offline_reported: 'misconfigured',
  },
};

/** Frames a resolution change stays visible as degraded (the operator should look at the zones). */
export const RESIZE_HOLD_FRAMES = 5;

export interface CameraSnapshot {
  readonly state: CameraState;
  /** `CODE: message`, the code from the error catalogue; null when online. */
  readonly reason: string | null;
  readonly code: CameraReasonCode | null;
  readonly since: number;
  /** Start of the current offline/misconfigured episode (null when up). */
  readonly downSince: number | null;
  readonly offlineReported: boolean;
  /** Frames left before a degraded camera may go back to online. */
  readonly holdFrames: number;
}

export function initialSnapshot(enabled: boolean, now: number): CameraSnapshot {
  return {
    state: enabled ? 'connecting' : 'disabled',
    reason: null,
    code: null,
    since: now,
    downSince: null,
    offlineReported: false,
    holdFrames: 0,
  };
}

export class InvalidCameraTransition extends Error {
  constructor(
    readonly from: CameraState,
    readonly event: CameraEventType,
  ) {
    super(`camera event ${event} is not allowed in state ${from}`);
  }
}

/** Applies one event. Returns the same object when nothing visible changed. */
export function transition(s: CameraSnapshot, e: CameraEvent, now: number): CameraSnapshot {
  const target = TRANSITIONS[s.state][e.type];
  if (target === undefined) throw new InvalidCameraTransition(s.state, e.type);
  let code: CameraReasonCode | null = null;
  let message: string | null = null;
  let holdFrames = 0;
  switch (e.type) {
    case 'offline_reported':
      return s.offlineReported ? s : { ...s, offlineReported: true };
    case 'frame':
      // Degraded stays degraded while its hold lasts (a resize stays visible for a few frames).
      if (s.state === 'degraded' && s.holdFrames > 0) return { ...s, holdFrames: s.holdFrames - 1 };
      break;
    case 'lagging':
      code = Codes.GW_CAMERA_LAGGING;
      message = e.message;
      holdFrames = 1;
      break;
    case 'stretched':
      code = Codes.GW_CAMERA_INTERVAL_STRETCHED;
      message = e.message;
      break;
    case 'starved':
      code = Codes.GW_CAMERA_STARVED;
      message = e.message;
      break;
    case 'resized':
      code = Codes.GW_CAMERA_RESOLUTION_CHANGED;
      message = e.message;
      holdFrames = RESIZE_HOLD_FRAMES;
      break;
    case 'offline':
    case 'misconfigured':
      code = e.code;
      message = e.message;
      holdFrames = s.holdFrames;
      break;
  }
  const next = target;
  const reason = code === null ? null : `${code}: ${message}`;
  if (next === s.state && reason === s.reason && holdFrames === s.holdFrames) return s;
  const up = next === 'online' || next === 'degraded';
  const down = next === 'offline' || next === 'misconfigured';
  const changed = next !== s.state || reason !== s.reason;
  return {
    state: next,
    reason,
    code,
    since: changed ? now : s.since,
    downSince: up ? null : down && s.downSince === null ? now : s.downSince,
    offlineReported: up ? false : s.offlineReported,
    holdFrames,
  };
}

/** Whether the episode's camera_offline finding is due now (once per episode). */
export function offlineFindingDue(s: CameraSnapshot, now: number, offlineAfterMs: number): boolean {
  return s.downSince !== null && !s.offlineReported && now - s.downSince >= offlineAfterMs;
}
