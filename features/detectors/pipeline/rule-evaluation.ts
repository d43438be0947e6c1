import type { Frame } from '../../../core/contracts/frame.js';
import type { RuleEmission, RuleInput, TrackedObject, ZoneView } from '../plugin-api/contract.js';
import type { RuleHandle } from '../loader/plugin-loader.js';
import type { CameraState } from './camera-state.js';

export interface RuleResult {
  handle: RuleHandle;
  emissions: RuleEmission[];
}

/**
 * Every rule of the camera on this sample, in parallel (each in its plugin thread): its zones,
 * whether its schedule is open, the tracks, pixels only for rules that read them.
 */
export async function evaluateRules(
  st: CameraState,
  frame: Frame,
  inferred: boolean,
  tracks: readonly TrackedObject[],
  at: number,
  active: readonly string[],
  dwellFactor: (rule: string, zones: readonly ZoneView[]) => Record<string, number>,
): Promise<RuleResult[]> {
  return Promise.all(
    st.rules.map(async ({ rule, handle }) => {
      const zones: ZoneView[] = st.cam.zones
        .filter((z) => z.rules.includes(rule))
        .map((z) => ({
          id: z.id,
          name: z.name,
          polygon: z.polygon,
          ...(z.gridCode ? { gridCode: z.gridCode } : {}),
        }));
      const input: RuleInput = {
        frame: {
          cameraId: st.cam.id,
          at,
          width: frame.width,
          height: frame.height,
          ...(handle.wantsPixels ? { rgb: frame.rgb } : {}),
        },
        tracks,
        zones,
        active: active.includes(rule),
        inferred,
        dwellFactor: dwellFactor(rule, zones),
      };
      return { handle, emissions: await handle.evaluate(input) };
    }),
  );
}

/**
 * Open events no rule reported for a while have ended; they are forgotten (a later emission
 * of the same key raises anew). A rule that skips its key for a sample or two (a flickering
 * detection) has not ended the event: only a gap of several samples does, so one event is not
 * reported twice.
 */
export function endQuietEvents(
  st: CameraState,
  seen: ReadonlySet<string>,
  at: number,
): Array<{ type: string; key: string }> {
  const graceMs = Math.max(3 * st.cam.samplingIntervalSec * 1_000, 5_000);
  const ended: Array<{ type: string; key: string }> = [];
  for (const [k, ev] of [...st.events]) {
    if (seen.has(k) || at - ev.lastEmittedAt <= graceMs) continue;
    st.events.delete(k);
    const [type = '', ...rest] = k.split('|');
    ended.push({ type, key: rest.join('|') });
  }
  return ended;
}
