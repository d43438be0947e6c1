import type { NBox, TrackedObject } from '../plugin-api/contract.js';

/** The frame a track was first seen in, with its box then: the alert's "first seen" evidence. */
export interface FirstSeen {
  at: number;
  jpeg: Uint8Array;
  jpegWidth: number;
  jpegHeight: number;
  box: NBox & { label: string; score: number };
}

export interface FirstSeenFrames {
  /**
   * After a tracker step: remembers the frame for each new track `relevant` accepts, and
   * forgets tracks that are gone.
   */
  note(
    tracks: readonly TrackedObject[],
    frame: { jpeg: Uint8Array; jpegWidth: number; jpegHeight: number },
    at: number,
    relevant: (t: TrackedObject) => boolean,
  ): void;
  get(trackId: string): FirstSeen | undefined;
  /** Distinct frames held (tests, health). */
  frames(): number;
}

/**
 * Per camera. Tracks born in one sample share one copy of its JPEG, and at most `maxFrames`
 * distinct frames are held (beyond it, the frame whose tracks have the fewest hits is let go
 * and its tracks lose their first-seen evidence): walkers' tracks end within seconds, so what
 * stays is mostly the few parked vehicles and standing people a dwell alert can come from. At
 * ~60 KB a frame the default 12 bound a camera's cost to about 0.7 MB.
 */
export function createFirstSeenFrames(maxFrames = 12): FirstSeenFrames {
  const byTrack = new Map<string, FirstSeen>();
  // Insertion order = age: the first key is the oldest frame.
  const frames = new Map<number, Set<string>>();

  const drop = (trackId: string) => {
    const f = byTrack.get(trackId);
    if (!f) return;
    byTrack.delete(trackId);
    const set = frames.get(f.at);
    set?.delete(trackId);
    if (set && set.size === 0) frames.delete(f.at);
  };

  return {
    note(tracks, frame, at, relevant) {
      const live = new Set(tracks.map((t) => t.trackId));
      for (const id of [...byTrack.keys()]) if (!live.has(id)) drop(id);
      let copy: Uint8Array | null = null;
      for (const t of tracks) {
        if (t.firstSeen !== at || byTrack.has(t.trackId) || !relevant(t)) continue;
        // A copy: the frame's buffer belongs to ingest, which may reuse it.
        copy ??= frame.jpeg.slice();
        byTrack.set(t.trackId, {
          at,
          jpeg: copy,
          jpegWidth: frame.jpegWidth,
          jpegHeight: frame.jpegHeight,
          box: { ...t.box, label: t.label, score: t.score },
        });
        let set = frames.get(at);
        if (!set) frames.set(at, (set = new Set()));
        set.add(t.trackId);
      }
      if (frames.size <= maxFrames) return;
      // Over the bound: let go of the frames whose tracks have lived the shortest (walkers),
      // never this sample's, so a parked vehicle's first frame outlasts the passers-by's.
      const hits = new Map(tracks.map((t) => [t.trackId, t.hits]));
      const worth = (ids: Set<string>) => Math.max(0, ...[...ids].map((id) => hits.get(id) ?? 0));
      while (frames.size > maxFrames) {
        let victim: number | null = null;
        let low = Infinity;
        for (const [fat, ids] of frames) {
          if (fat === at) continue;
          const w = worth(ids);
          if (w < low) [victim, low] = [fat, w];
        }
        if (victim === null) break;
        for (const id of [...(frames.get(victim) ?? [])]) drop(id);
        frames.delete(victim);
      }
    },
    get: (id) => byTrack.get(id),
    frames: () => frames.size,
  };
}
