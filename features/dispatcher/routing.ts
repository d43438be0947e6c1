import type { GridRef } from '../../core/contracts/alert.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import { Codes, GridwatchError } from '../../core/errors.js';

export interface Route {
  gridCode: string;
  gridPath: GridRef[];
  routedBy: 'zone' | 'camera' | 'location' | 'fallback';
  zoneName: string | null;
}

/**
 * Where an alert goes: the zone's grid, else the camera's grid, else the grid whose polygon
 * holds the camera, else the configured fallback. A code the grid index does not know is
 * skipped (and named in `skipped`) rather than trusted: an alert in an unknown room reaches
 * nobody.
 */
export function routeFinding(
  camera: LoadedCamera,
  zoneId: string | null,
  grids: GridIndex,
  fallbackGridCode: string | undefined,
): Route & { skipped: string[] } {
  const skipped: string[] = [];
  const zone = zoneId === null ? undefined : camera.zones.find((z) => z.id === zoneId);
  const zoneName = zone?.name ?? null;
  const tryCode = (code: string | undefined, by: Route['routedBy']): Route | null => {
    if (code === undefined) return null;
    const path = grids.path(code);
    if (path.length === 0) {
      skipped.push(`${by} grid ${code} is not in the grid index`);
      return null;
    }
    return {
      gridCode: code,
      gridPath: path.map((g) => ({ code: g.code, name: g.name, level: g.level })),
      routedBy: by,
      zoneName,
    };
  };
  const byZone = tryCode(zone?.gridCode, 'zone');
  if (byZone) return { ...byZone, skipped };
  const byCamera = tryCode(camera.gridCode, 'camera');
  if (byCamera) return { ...byCamera, skipped };
  const hit = grids.lookup(camera.wgs84.lon, camera.wgs84.lat);
  if (hit) {
    const byLoc = tryCode(hit.code, 'location');
    if (byLoc) return { ...byLoc, skipped };
  }
  skipped.push(`camera location ${camera.wgs84.lon},${camera.wgs84.lat} is outside every grid`);
  const fb = tryCode(fallbackGridCode, 'fallback');
  if (fb) return { ...fb, skipped };
  throw new GridwatchError(
    Codes.GW_UNROUTABLE,
    `camera ${camera.id} (${camera.file}:${camera.line}) cannot be routed: ${skipped.join('; ')}; set dispatcher.fallbackGridCode or the camera's gridCode`,
    { field: 'gridCode', details: { cameraId: camera.id, skipped } },
  );
}

/** Dedup key: the parts configured for the type, in a fixed order. */
export function dedupKey(
  f: {
    cameraId: string;
    type: string;
    zoneId: string | null;
    trackIds: string[];
    placeKey?: string | undefined;
  },
  keys: readonly ('camera' | 'type' | 'zone' | 'track' | 'place')[],
): string {
  const parts: string[] = [];
  if (keys.includes('camera')) parts.push(`c=${f.cameraId}`);
  if (keys.includes('type')) parts.push(`t=${f.type}`);
  if (keys.includes('zone')) parts.push(`z=${f.zoneId ?? '-'}`);
  if (keys.includes('track')) parts.push(`k=${[...f.trackIds].sort().join(',') || '-'}`);
  if (keys.includes('place')) parts.push(`p=${f.placeKey ?? '-'}`);
  return parts.join('|');
}

/**
 * Where an events-API finding goes (no camera): the grid whose polygon holds its WGS84 point,
 * else the configured fallback.
 */
export function routePoint(
  where: { lon: number; lat: number },
  what: string,
  grids: GridIndex,
  fallbackGridCode: string | undefined,
): Route & { skipped: string[] } {
  const hit = grids.lookup(where.lon, where.lat);
  const at = hit ? grids.path(hit.code) : [];
  const fb = at.length === 0 && fallbackGridCode !== undefined ? grids.path(fallbackGridCode) : [];
  const path = at.length > 0 ? at : fb;
  if (path.length === 0) {
    throw new GridwatchError(
      Codes.GW_UNROUTABLE,
      `${what}: location ${where.lon},${where.lat} is outside every grid; set dispatcher.fallbackGridCode`,
      { field: 'location', details: { location: where } },
    );
  }
  return {
    gridCode: path.at(-1)!.code,
    gridPath: path.map((g) => ({ code: g.code, name: g.name, level: g.level })),
    routedBy: at.length > 0 ? 'location' : 'fallback',
    zoneName: null,
    skipped: at.length > 0 ? [] : [`location ${where.lon},${where.lat} is outside every grid`],
  };
}
