import gcoordModule from 'gcoord';
import type { LocationCrs } from '../contracts/common-schema.js';

/**
 * The one place coordinates change datum (gcoord for GCJ-02 and BD-09): config and events read
 * any supported system into WGS-84, the wall's map shifts WGS-84 onto GCJ-02 tiles.
 */

// gcoord is CommonJS typed as an ES default export: under NodeNext the runtime default is
// module.exports itself, while the types put it under `.default`.
type Gcoord = typeof gcoordModule.default;
const gcoord: Gcoord =
  (gcoordModule as unknown as { default?: Gcoord }).default ?? (gcoordModule as unknown as Gcoord);

const CRS = { WGS84: gcoord.WGS84, GCJ02: gcoord.GCJ02, BD09: gcoord.BD09 } as const;

/** A point in any supported system → WGS-84. */
export function toWgs84(lon: number, lat: number, crs: LocationCrs): { lon: number; lat: number } {
  // CGCS2000 and WGS-84 differ by centimetres at the epoch of any camera survey, far below what a
  // camera position needs (a documented approximation, docs/integration.md): no transform.
  if (crs === 'WGS84' || crs === 'CGCS2000') return { lon, lat };
  const [x, y] = gcoord.transform([lon, lat], CRS[crs], gcoord.WGS84);
  return { lon: x, lat: y };
}

/** Datum a map draws in: its tiles' (wall.map.tiles.crs). */
export type MapCrs = 'wgs84' | 'gcj02';

/** A WGS-84 point → the map's datum (GCJ-02 tiles need everything shifted onto them). */
export function toMapCrs(lon: number, lat: number, crs: MapCrs): { lon: number; lat: number } {
  if (crs === 'wgs84') return { lon, lat };
  const [x, y] = gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02);
  return { lon: x, lat: y };
}

/** A flat [lon, lat, lon, lat, …] ring → the map's datum, new array. */
export function ringToMapCrs(ring: readonly number[], crs: MapCrs): number[] {
  if (crs === 'wgs84') return ring.slice();
  const out = new Array<number>(ring.length);
  for (let i = 0; i + 1 < ring.length; i += 2) {
    const p = toMapCrs(ring[i]!, ring[i + 1]!, crs);
    out[i] = p.lon;
    out[i + 1] = p.lat;
  }
  return out;
}
