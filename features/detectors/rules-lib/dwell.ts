/**
 * Dwell bookkeeping shared by the rules: since when a keyed condition has held, clamped to when
 * the rule's schedule last became active (an inactive rule holds no timers, so a vehicle parked
 * overnight outside the window does not alarm the moment the window opens).
 */
import type { RuleInput } from '../plugin-api/contract.js';

export interface DwellBook {
  /**
   * Call once per evaluate, first. Clears everything when the rule is inactive; returns false
   * then, and the rule should return no emissions.
   */
  begin(input: Pick<RuleInput, 'active' | 'frame'>): boolean;
  /**
   * The condition for `key` holds now. `since` is when it started to hold by the object's own
   * account (e.g. stationarySince); returns the effective start (never before activation, never
   * earlier than a previous start of the same episode's key).
   */
  hold(key: string, since?: number | null): number;
  /** Keys not held since `begin` are forgotten (their condition broke: re-armed). */
  end(): void;
  /** Effective start of a held key, if any. */
  startOf(key: string): number | undefined;
  size(): number;
}

export function createDwellBook(): DwellBook {
  const starts = new Map<string, number>();
  let held = new Set<string>();
  let activeSince: number | null = null;
  let now = 0;
  return {
    begin(input) {
      now = input.frame.at;
      held = new Set();
      if (!input.active) {
        starts.clear();
        activeSince = null;
        return false;
      }
      if (activeSince === null) activeSince = now;
      return true;
    },
    hold(key, since) {
      held.add(key);
      const prev = starts.get(key);
      // A later `since` than the book's means the object's own clock restarted (it moved):
      // follow it; an earlier one never pulls the start before activation.
      const start = Math.max(since ?? prev ?? now, prev ?? -Infinity, activeSince ?? now);
      starts.set(key, start);
      return start;
    },
    end() {
      for (const k of starts.keys()) if (!held.has(k)) starts.delete(k);
    },
    startOf(key) {
      return starts.get(key);
    },
    size() {
      return starts.size;
    },
  };
}

/** The zone's effective dwell in ms: configured seconds times the operators' feedback factor. */
export function dwellMs(
  dwellSec: number,
  zoneId: string | null,
  dwellFactor: Readonly<Record<string, number>>,
): number {
  const f = zoneId === null ? 1 : (dwellFactor[zoneId] ?? 1);
  // A broken factor (0, negative, NaN) from feedback must not make every sample alarm.
  return dwellSec * 1_000 * (Number.isFinite(f) && f > 0 ? f : 1);
}
