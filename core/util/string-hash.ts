/**
 * The one string hash of gridwatch, for everything that must spread ids evenly and agree on
 * every node without coordination: camera placement (features/cluster/placement.ts) and the
 * phase of a camera's samples in its interval (features/ingest/camera-runner.ts).
 *
 * cyrb53 (public domain, bryc): 53 bits with good avalanche. Sequential ids such as snap-0 …
 * snap-999 spread like random values; FNV-1a alone, used for phases before, put 38 samples in
 * one second of a 10 s interval and 176 in another (test/ingest/snapshot-decode.test.ts).
 */
export function hash53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** hash53 mapped into [0, 1): the same id always gives the same value. */
export function unitHash(str: string): number {
  return hash53(str) / 2 ** 53;
}
