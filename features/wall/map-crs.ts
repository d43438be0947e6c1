import gcoordModule from 'gcoord';

// gcoord is CommonJS typed as an ES default export (see core/config/camera-file.ts, which uses the
// same library for the opposite direction, so both ends agree on one GCJ-02 definition).
type Gcoord = typeof gcoordModule.default;
const gcoord: Gcoord =
  (gcoordModule as unknown as { default?: Gcoord }).default ?? (gcoordModule as unknown as Gcoord);

/** Datum the map draws in: the tiles' (wall.map.tiles.crs). */
export type MapCrs = 'wgs84' | 'gcj02';

/** WGS-84 point → the map's datum (GCJ-02 tiles need everything shifted onto them). */
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
