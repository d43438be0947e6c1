/**
 * Dwell bookkeeping shared by the rules: since when a keyed condition has held, clamped to when
 * the rule's schedule last became active (an inactive rule holds no timers, so a vehicle parked
 * overnight outside the window does not alarm the moment the window opens).
 */
import type { RuleInput, TrackedObject, ZoneView } from '../plugin-api/contract.js';
import { filterZones, zoneOf } from './geometry.js';
import { createSeenShare, type SeenShare } from './seen-share.js';

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

/** Which tracks a dwell rule watches: the filter every "stands in a zone" rule applies. */
export interface StandingCriteria {
  /** The track's label (its strongest over the track, not the latest) is one the rule wants. */
  accept(label: string): boolean;
  /** Only these zone ids of the zones that list the rule; undefined = all of them. */
  zones?: readonly string[] | undefined;
  /** Minimum track score (the tracker's median over the track). */
  minScore: number;
  /** Samples the track must have been detected in (filters one-frame ghosts). */
  minHits?: number | undefined;
  /** Share of inferred samples the track was detected in (see seen-share.ts). */
  minSeenShare: number;
}

export interface StandingTrack {
  track: TrackedObject;
  zone: ZoneView;
}

/**
 * Stationary tracks that pass the criteria, with the zone their feet stand in. Call after
 * `seen.observe(input)` for this input.
 */
export function standingInZones(
  input: Pick<RuleInput, 'tracks' | 'zones'>,
  seen: SeenShare,
  c: StandingCriteria,
): StandingTrack[] {
  const zones = filterZones(input.zones, c.zones);
  const out: StandingTrack[] = [];
  for (const t of input.tracks) {
    if (!c.accept(t.label) || t.stationarySince === null) continue;
    if (t.score < c.minScore || t.hits < (c.minHits ?? 1)) continue;
    if (seen.share(t.trackId) < c.minSeenShare) continue;
    const zone = zoneOf(t.box, zones);
    if (zone) out.push({ track: t, zone });
  }
  return out;
}

export interface DwellState {
  /** Effective start of the dwell (never before the rule became active). */
  start: number;
  /** ms the condition has held so far. */
  heldMs: number;
  /** The zone's dwell (with operators' feedback factor) has been reached. */
  due: boolean;
}

/** Holds `key` in the book and says whether its dwell in `zoneId` is due. */
export function holdDwell(
  book: DwellBook,
  input: Pick<RuleInput, 'frame' | 'dwellFactor'>,
  key: string,
  since: number | null,
  zoneId: string,
  dwellSec: number,
): DwellState {
  const start = book.hold(key, since);
  const heldMs = input.frame.at - start;
  return { start, heldMs, due: heldMs >= dwellMs(dwellSec, zoneId, input.dwellFactor) };
}

export interface DwellHit extends StandingTrack {
  key: string;
  start: number;
  /** Whole seconds the track has stood in the zone. */
  dwellSec: number;
}

export interface StationaryDwell {
  /**
   * One call per evaluate: the tracks that have stood in a zone for the dwell, each once per
   * sample. Handles the schedule (inactive = no clocks), the seen share, re-arming when a track
   * moves or ends, and the operators' dwell factor.
   */
  evaluate(input: RuleInput): DwellHit[];
}

/**
 * "A stationary track in a zone for the dwell time": the loop illegal_parking and loitering
 * are made of, and the first half of street_vending (which clusters the standing people).
 * One event per track while it stays: the key is the track id, so the rule re-arms only once
 * that object has left (its track ends or it moves) and another arrives.
 */
export function createStationaryDwell(
  o: StandingCriteria & { dwellSec: number; keyPrefix: string },
): StationaryDwell {
  const book = createDwellBook();
  const seen = createSeenShare();
  return {
    evaluate(input) {
      if (!book.begin(input)) {
        seen.clear();
        return [];
      }
      seen.observe(input);
      const out: DwellHit[] = [];
      for (const s of standingInZones(input, seen, o)) {
        const key = `${o.keyPrefix}:${s.track.trackId}`;
        const d = holdDwell(book, input, key, s.track.stationarySince, s.zone.id, o.dwellSec);
        if (d.due) out.push({ ...s, key, start: d.start, dwellSec: Math.round(d.heldMs / 1_000) });
      }
      book.end();
      return out;
    },
  };
}
