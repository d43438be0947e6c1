import { describe, expect, it } from 'vitest';
import { CAMERA_STATES } from '../../core/contracts/camera-directory.js';
import { Codes, ERROR_CATALOGUE } from '../../core/errors.js';
import {
  initialSnapshot,
  InvalidCameraTransition,
  offlineFindingDue,
  RESIZE_HOLD_FRAMES,
  transition,
  TRANSITIONS,
  type CameraEvent,
  type CameraSnapshot,
} from '../../features/ingest/camera-state-machine.js';

const refused: CameraEvent = {
  type: 'offline',
  code: Codes.GW_CAMERA_CONNECTION_REFUSED,
  message: 'refused',
};
const badPw: CameraEvent = { type: 'misconfigured', code: Codes.GW_CAMERA_AUTH_FAILED, message: 'rejected' };
const run = (s: CameraSnapshot, events: CameraEvent[], t0 = 1_000): CameraSnapshot =>
  events.reduce((acc, e, i) => transition(acc, e, t0 + i * 1_000), s);

describe('camera state machine (pure)', () => {
  it('has a row for every camera state and a disabled camera accepts no event', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...CAMERA_STATES].sort());
    expect(() => transition(initialSnapshot(false, 0), { type: 'frame' }, 1)).toThrow(
      InvalidCameraTransition,
    );
  });

  it('connecting → online on a frame; a failure sets state, catalogue code and episode start', () => {
    const s0 = initialSnapshot(true, 0);
    expect(s0.state).toBe('connecting');
    const up = transition(s0, { type: 'frame' }, 10);
    expect(up).toMatchObject({ state: 'online', reason: null, since: 10, downSince: null });
    const down = transition(up, refused, 20);
    expect(down).toMatchObject({ state: 'offline', code: Codes.GW_CAMERA_CONNECTION_REFUSED, downSince: 20 });
    expect(down.reason).toBe('GW_CAMERA_CONNECTION_REFUSED: refused');
    // the episode keeps its start across further failures, also when it becomes misconfigured
    const worse = transition(transition(down, refused, 30), badPw, 40);
    expect(worse).toMatchObject({ state: 'misconfigured', downSince: 20, since: 40 });
    expect(ERROR_CATALOGUE[worse.code!].zh).toBe('摄像机拒绝了用户名或密码');
  });

  it('raises the offline finding once per episode, after offlineAfter, and re-arms when the camera is up', () => {
    let s = run(initialSnapshot(true, 0), [{ type: 'frame' }, refused]); // offline at t=2000
    expect(offlineFindingDue(s, 2_000 + 2_999, 3_000)).toBe(false);
    expect(offlineFindingDue(s, 2_000 + 3_000, 3_000)).toBe(true);
    s = transition(s, { type: 'offline_reported' }, 5_000);
    expect(offlineFindingDue(s, 60_000, 3_000)).toBe(false);
    s = transition(s, refused, 6_000);
    expect(offlineFindingDue(s, 60_000, 3_000)).toBe(false);
    s = run(s, [{ type: 'frame' }, refused], 7_000);
    expect(s.offlineReported).toBe(false);
    expect(offlineFindingDue(s, 8_000 + 3_000, 3_000)).toBe(true);
  });

  it('a resize stays degraded for RESIZE_HOLD_FRAMES good frames, then online', () => {
    let s = run(initialSnapshot(true, 0), [{ type: 'frame' }, { type: 'resized', message: 'from a to b' }]);
    expect(s.state).toBe('degraded');
    expect(s.code).toBe(Codes.GW_CAMERA_RESOLUTION_CHANGED);
    for (let i = 0; i < RESIZE_HOLD_FRAMES; i++) {
      s = transition(s, { type: 'frame' }, 10_000 + i);
      expect(s.state).toBe('degraded');
    }
    s = transition(s, { type: 'frame' }, 20_000);
    expect(s).toMatchObject({ state: 'online', reason: null, since: 20_000 });
  });

  it('lagging is degraded with its reason and clears after one more timely frame', () => {
    let s = run(initialSnapshot(true, 0), [{ type: 'frame' }, { type: 'lagging', message: '9.0 s late' }]);
    expect(s.reason).toBe('GW_CAMERA_LAGGING: 9.0 s late');
    s = transition(s, { type: 'frame' }, 5_000);
    expect(s.state).toBe('degraded');
    s = transition(s, { type: 'frame' }, 6_000);
    expect(s.state).toBe('online');
  });

  it('a stretched interval is degraded with its reason while it lasts and clears on the first frame at the configured interval', () => {
    let s = run(initialSnapshot(true, 0), [{ type: 'stretched', message: 'every 4.0 s instead of 1 s' }]);
    expect(s).toMatchObject({ state: 'degraded', code: Codes.GW_CAMERA_INTERVAL_STRETCHED });
    expect(s.reason).toBe('GW_CAMERA_INTERVAL_STRETCHED: every 4.0 s instead of 1 s');
    expect(ERROR_CATALOGUE[Codes.GW_CAMERA_INTERVAL_STRETCHED].zh).toBeTruthy();
    s = transition(s, { type: 'stretched', message: 'every 4.0 s instead of 1 s' }, 5_000);
    expect(s.state).toBe('degraded');
    s = transition(s, { type: 'frame' }, 6_000);
    expect(s).toMatchObject({ state: 'online', reason: null });
  });

  it('starved is degraded with its reason from any running state, ends an offline episode, and clears on a frame', () => {
    const starved: CameraEvent = { type: 'starved', message: 'no frame for 16 s' };
    for (const from of [[], [{ type: 'frame' }], [refused]] as CameraEvent[][]) {
      const s = run(initialSnapshot(true, 0), [...from, starved]);
      expect(s).toMatchObject({ state: 'degraded', code: Codes.GW_CAMERA_STARVED, downSince: null });
      expect(s.reason).toBe('GW_CAMERA_STARVED: no frame for 16 s');
    }
    // a node problem: no camera_offline finding while the camera is held
    const s = run(initialSnapshot(true, 0), [refused, starved]);
    expect(offlineFindingDue(s, 10_000_000, 3_000)).toBe(false);
    expect(transition(s, { type: 'frame' }, 9_000)).toMatchObject({ state: 'online', reason: null });
  });

  it('an event that changes nothing returns the same snapshot (no status is emitted)', () => {
    const up = transition(initialSnapshot(true, 0), { type: 'frame' }, 1);
    expect(transition(up, { type: 'frame' }, 2)).toBe(up);
    const down = transition(up, refused, 3);
    expect(transition(down, refused, 4)).toBe(down);
  });
});
