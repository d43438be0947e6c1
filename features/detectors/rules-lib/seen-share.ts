/**
 * Share of the samples since a track appeared in which it was actually detected.
 *
 * Why: at one sample every few seconds, different walkers crossing the same spot in successive
 * samples can be linked into one track that looks stationary (seen on vtest.avi: a path at the
 * right of the road gave a "person standing 40 s" made of five passers-by, with misses in
 * between). Someone really standing is detected in nearly every sample; such a chain is not.
 * Parked vehicles flicker more (scores 0.35-0.45), so vehicle rules use a lower share.
 */
import type { RuleInput } from '../plugin-api/contract.js';

export interface SeenShare {
  /** Call once per evaluate with the input; counts only frames the model ran on. */
  observe(input: Pick<RuleInput, 'tracks' | 'inferred'>): void;
  /** Detected samples / samples since first seen (1 for a track observed once). */
  share(trackId: string): number;
  clear(): void;
}

export function createSeenShare(): SeenShare {
  const counts = new Map<string, { samples: number; seen: number }>();
  return {
    observe(input) {
      const live = new Set<string>();
      for (const t of input.tracks) {
        live.add(t.trackId);
        if (!input.inferred) continue;
        const c = counts.get(t.trackId) ?? { samples: 0, seen: 0 };
        c.samples += 1;
        if (t.missed === 0) c.seen += 1;
        counts.set(t.trackId, c);
      }
      for (const k of counts.keys()) if (!live.has(k)) counts.delete(k);
    },
    share(trackId) {
      const c = counts.get(trackId);
      return c && c.samples > 0 ? c.seen / c.samples : 1;
    },
    clear() {
      counts.clear();
    },
  };
}
