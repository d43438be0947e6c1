import type { GridLevel } from './common-schema.js';

export interface GridInfo {
  code: string;
  name: string;
  level: GridLevel;
  parent: string | null;
  kind: string;
}

/** Answers where things are. Built by gateway/grid, used by dispatcher routing and wall scope. */
export interface GridIndex {
  /** Number of features with a polygon. */
  readonly size: number;
  /** Innermost grid whose polygon contains the WGS84 point; null outside every grid (never guessed). */
  lookup(lon: number, lat: number): GridInfo | null;
  get(code: string): GridInfo | undefined;
  /** The grid and every ancestor, root (city) first. Empty for an unknown code. */
  path(code: string): GridInfo[];
  children(code: string): GridInfo[];
  roots(): GridInfo[];
  search(query: string, limit?: number): GridInfo[];
  /**
   * The feature's polygons (each: outer ring then holes, closed, WGS84 [lon, lat]); undefined
   * for an unknown code or a division without geometry. Optional so stubs need not carry
   * shapes; the wall's map draws nothing for an index without it.
   */
  shape?(code: string): ReadonlyArray<ReadonlyArray<ReadonlyArray<readonly [number, number]>>> | undefined;
}
