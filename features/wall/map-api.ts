import { z } from 'zod';
import type { Actor, AlertService } from '../../core/contracts/alert-service.js';
import type { AlertState } from '../../core/contracts/alert.js';
import type { CameraDirectory } from '../../core/contracts/camera-directory.js';
import { CAMERA_STATES } from '../../core/contracts/camera-directory.js';
import { GridCodeSchema } from '../../core/contracts/common-schema.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { ForbiddenError } from '../../core/errors.js';
import { inScope } from '../../core/grid/scope.js';
import type { Session } from './auth.js';
import { ringToMapCrs, toMapCrs } from '../../core/geo/crs.js';
import { createMapShapes, MAP_MAX_ZOOM, MAP_MIN_ZOOM } from './map-shapes.js';
import { route, type RouteDef } from './route-table.js';

const CrsQuerySchema = z
  .enum(['wgs84', 'gcj02'])
  .default('wgs84')
  .describe('Datum of the returned coordinates: wgs84, or gcj02 to sit on GCJ-02 tiles (AMap-style)');

export const MapGridsQuerySchema = z
  .strictObject({
    zoom: z.coerce
      .number()
      .int()
      .min(0)
      .max(22)
      .describe(`Map zoom level; shapes are simplified for it (clamped to ${MAP_MIN_ZOOM}–${MAP_MAX_ZOOM})`),
    level: z
      .enum(['county', 'township', 'community', 'grid'])
      .default('grid')
      .describe('Which divisions to draw'),
    gridCode: GridCodeSchema.optional().describe('Only this subtree (within your scope)'),
    crs: CrsQuerySchema,
  })
  .describe('Grid shapes for the map');

const MapGridSchema = z.strictObject({
  code: z.string(),
  name: z.string(),
  level: z.string(),
  parent: z.string().nullable(),
  county: z.string().nullable().describe('County (区县) code'),
  rings: z
    .array(z.array(z.array(z.number())))
    .describe('Polygons → rings → flat [lon, lat, lon, lat, …] (WGS84, or GCJ-02 with crs=gcj02), closed'),
});

export const MapGridsSchema = z
  .strictObject({
    zoom: z.number().int().describe('Zoom the shapes were simplified for'),
    level: z.string(),
    grids: z.array(MapGridSchema),
  })
  .describe('Grid polygons in your scope, simplified for the zoom');

export const MapAlertsQuerySchema = z
  .strictObject({
    gridCode: GridCodeSchema.optional().describe('Only this subtree (within your scope)'),
    limit: z.coerce.number().int().min(1).max(5_000).default(2_000).describe('At most this many markers'),
    crs: CrsQuerySchema,
  })
  .describe('Open alerts for the map');

const MapAlertSchema = z.strictObject({
  id: z.string(),
  type: z.string(),
  state: z.string(),
  gridCode: z.string(),
  lon: z.number(),
  lat: z.number(),
  createdAt: z.number(),
  version: z.number(),
  cameraName: z.string(),
});

export const MapAlertsSchema = z
  .strictObject({
    items: z.array(MapAlertSchema).describe('Open alerts, newest first'),
    total: z.number().int().describe('Open alerts in scope (may exceed items)'),
  })
  .describe('Open alerts as map markers');

export const MapCamerasQuerySchema = z.strictObject({ crs: CrsQuerySchema }).describe('Cameras for the map');

export const MapCameraSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  state: z.enum(CAMERA_STATES),
  gridCode: z.string().nullable(),
  lon: z.number(),
  lat: z.number(),
});

export interface MapRouteDeps {
  grids: () => GridIndex;
  alerts: AlertService;
  cameras: CameraDirectory;
  openStates: AlertState[];
  need(session: Session | null): Actor;
}

/** GET /map/grids, /map/alerts, /map/cameras: what the 一张图 map view draws, scope-checked. */
export function mapRoutes(d: MapRouteDeps): RouteDef[] {
  const shapes = createMapShapes();
  const scopeOf = (actor: Actor, gridCode: string | undefined): string => {
    if (gridCode && !inScope(actor, { gridCode }, d.grids()))
      throw new ForbiddenError(`grid ${gridCode} is outside your scope`);
    return gridCode ?? actor.scope;
  };
  return [
    route({
      method: 'get',
      path: '/map/grids',
      summary: 'Grid polygons in your scope, simplified for a zoom level (一张图)',
      tag: 'map',
      access: 'any',
      query: MapGridsQuerySchema,
      response: MapGridsSchema,
      async handler({ session, query, res }) {
        const scope = scopeOf(d.need(session), query.gridCode);
        const z0 = Math.min(MAP_MAX_ZOOM, Math.max(MAP_MIN_ZOOM, query.zoom));
        // Shapes change only with the grid file; the page may keep them for its session.
        res.setHeader('Cache-Control', 'private, max-age=300');
        const grids = shapes.grids(d.grids(), scope, query.level, z0);
        // The shapes are cached in WGS-84 and shifted per reply, so the cache stays one datum (cost not measured).
        const drawn =
          query.crs === 'wgs84'
            ? grids
            : grids.map((g) => ({
                ...g,
                rings: g.rings.map((poly) => poly.map((ring) => ringToMapCrs(ring, query.crs))),
              }));
        return { zoom: z0, level: query.level, grids: drawn };
      },
    }),
    route({
      method: 'get',
      path: '/map/alerts',
      summary: 'Open alerts in your scope as map markers (live updates come over the socket)',
      tag: 'map',
      access: 'any',
      query: MapAlertsQuerySchema,
      response: MapAlertsSchema,
      async handler({ session, query }) {
        const actor = d.need(session);
        const scope = scopeOf(actor, query.gridCode);
        const items: z.infer<typeof MapAlertSchema>[] = [];
        let cursor: string | undefined;
        let total = 0;
        const grids = d.grids();
        const area = { role: actor.role, scope };
        do {
          const page = await d.alerts.list({
            scope,
            states: d.openStates,
            limit: Math.min(500, query.limit - items.length),
            ...(cursor ? { cursor } : {}),
          });
          total = page.total;
          for (const a of page.items) {
            if (!inScope(actor, a, grids) || !inScope(area, a, grids)) continue;
            const p = toMapCrs(a.location.lon, a.location.lat, query.crs);
            items.push({
              id: a.id,
              type: a.type,
              state: a.state,
              gridCode: a.gridCode,
              lon: p.lon,
              lat: p.lat,
              createdAt: a.createdAt,
              version: a.version,
              cameraName: a.cameraName,
            });
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor && items.length < query.limit);
        return { items, total };
      },
    }),
    route({
      method: 'get',
      path: '/map/cameras',
      summary: 'Cameras in your scope with a location, as map points with their state',
      tag: 'map',
      access: 'any',
      query: MapCamerasQuerySchema,
      response: z.array(MapCameraSchema),
      async handler({ session, query }) {
        const actor = d.need(session);
        const grids = d.grids();
        return d.cameras
          .list()
          .filter((c) => c.location && inScope(actor, c, grids))
          .map((c) => {
            const p = toMapCrs(c.location!.lon, c.location!.lat, query.crs);
            return { id: c.id, name: c.name, state: c.state, gridCode: c.gridCode, lon: p.lon, lat: p.lat };
          });
      },
    }),
  ];
}
