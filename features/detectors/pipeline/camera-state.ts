import type { LoadedCamera } from '../../../core/contracts/loaded-camera.js';
import type { DetectorsConfig } from '../config/detectors-config.js';
import type { PluginSet, RuleHandle } from '../loader/plugin-loader.js';
import { createTracker, type Tracker } from '../tracker/tracker.js';
import { createFirstSeenFrames, type FirstSeenFrames } from './first-seen-frames.js';

/** An event (rule key) that has been raised and is still going on. */
export interface OpenEvent {
  baseId: string;
  lastEmittedAt: number;
  firstSeen: number;
  lastSubmitAt: number;
  firstEvidence: string | null;
}

/**
 * Everything the pipeline keeps per camera between samples. Long-lived parts (tracker, motion
 * reference, open events, first-seen frames, the frame chain) survive a change of the camera's
 * rules; the rule handles are rebuilt.
 */
export interface CameraState {
  cam: LoadedCamera;
  rulesSig: string;
  rules: Array<{ rule: string; handle: RuleHandle }>;
  tracker: Tracker;
  /** Motion gate: the gray image the model last saw, and when. */
  ref: Uint8Array | null;
  lastInferAt: number | null;
  /** Motion gate: the zone mask of the active rules, and the zones it was made from. */
  maskSig: string;
  mask: Uint8Array;
  events: Map<string, OpenEvent>;
  /** The frame each relevant track was first seen in (an alert's first-seen evidence). */
  firstFrames: FirstSeenFrames;
  /** The camera's frames are processed in order, one after another. */
  chain: Promise<void>;
  /** A track in the active zones is in doubt (just missed, or too young to count). */
  doubt: boolean;
}

export interface CameraStates {
  /** The state for this camera, (re)building its rules when its detectors changed. */
  get(cam: LoadedCamera): Promise<CameraState>;
  peek(cameraId: string): CameraState | undefined;
  /** Forgets cameras not in `keep`, closing their rules. */
  retain(keep: ReadonlySet<string>): Promise<void>;
  all(): CameraState[];
  size(): number;
  /** Waits for every camera's frames, closes all rules. */
  closeAll(): Promise<void>;
}

export function createCameraStates(o: {
  plugins: PluginSet;
  tracker: DetectorsConfig['tracker'];
  /** Called after a camera's rules were (re)built (finding-type colours may have changed). */
  onRulesBuilt?: () => void;
}): CameraStates {
  const states = new Map<string, CameraState>();
  const pending = new Map<string, Promise<CameraState>>();
  const rulesSig = (cam: LoadedCamera) => JSON.stringify(cam.detectors);

  async function buildRules(cam: LoadedCamera): Promise<CameraState['rules']> {
    const out: CameraState['rules'] = [];
    for (const d of cam.detectors) {
      const handle = await o.plugins.createRule(d.rule, cam.id, d.options);
      if (handle) out.push({ rule: d.rule, handle });
    }
    return out;
  }
  const closeRules = async (rules: CameraState['rules']) => {
    await Promise.all(rules.map((r) => r.handle.close()));
  };

  return {
    async get(cam) {
      const have = states.get(cam.id);
      if (have && have.rulesSig === rulesSig(cam)) {
        have.cam = cam;
        return have;
      }
      const p0 = pending.get(cam.id);
      if (p0) return p0;
      const p = (async () => {
        const rules = await buildRules(cam);
        const old = states.get(cam.id);
        if (old) await closeRules(old.rules);
        const st: CameraState = {
          cam,
          rulesSig: rulesSig(cam),
          rules,
          tracker: old?.tracker ?? createTracker(o.tracker),
          ref: old?.ref ?? null,
          lastInferAt: old?.lastInferAt ?? null,
          maskSig: '',
          mask: new Uint8Array(0),
          events: old?.events ?? new Map(),
          firstFrames: old?.firstFrames ?? createFirstSeenFrames(),
          chain: old?.chain ?? Promise.resolve(),
          doubt: false,
        };
        states.set(cam.id, st);
        o.onRulesBuilt?.();
        return st;
      })();
      pending.set(cam.id, p);
      try {
        return await p;
      } finally {
        pending.delete(cam.id);
      }
    },
    peek: (id) => states.get(id),
    async retain(keep) {
      for (const [id, st] of states) {
        if (keep.has(id)) continue;
        states.delete(id);
        await closeRules(st.rules);
      }
    },
    all: () => [...states.values()],
    size: () => states.size,
    async closeAll() {
      await Promise.all([...states.values()].map((s) => s.chain));
      await Promise.all([...states.values()].map((s) => closeRules(s.rules)));
      states.clear();
    },
  };
}
