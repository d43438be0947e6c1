import { z } from 'zod';
import { GridCodeSchema, GridLevelSchema } from './common-schema.js';

export const GRID_KINDS = [
  'basic',
  'school',
  'hospital',
  'market',
  'industrial',
  'scenic',
  'transport',
  'other',
] as const;

export const GridPropertiesSchema = z
  .strictObject({
    code: GridCodeSchema,
    name: z.string().min(1).max(100).describe('Name, e.g. 东风社区第三网格'),
    level: GridLevelSchema,
    parent: GridCodeSchema.nullable().describe('Code of the parent division; null only for the city'),
    kind: z
      .enum(GRID_KINDS)
      .default('basic')
      .describe(
        'basic (基础网格) or a dedicated grid (专属网格): school, hospital, market, industrial, scenic, transport, other',
      ),
  })
  .describe('Properties of one grid or division feature');
export type GridProperties = z.infer<typeof GridPropertiesSchema>;

const Position = z
  .tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)])
  .describe('[lon, lat] in WGS84');
const Ring = z.array(Position).min(4).describe('Closed linear ring: first and last positions equal');

export const GridGeometrySchema = z
  .discriminatedUnion('type', [
    z
      .strictObject({
        type: z.literal('Polygon'),
        coordinates: z.array(Ring).min(1).describe('Outer ring, then holes'),
      })
      .describe('Polygon'),
    z
      .strictObject({
        type: z.literal('MultiPolygon'),
        coordinates: z
          .array(z.array(Ring).min(1))
          .min(1)
          .describe('Polygons, each an outer ring then its holes'),
      })
      .describe('MultiPolygon'),
  ])
  .nullable()
  .describe('Polygon or MultiPolygon (holes allowed); null for a division known only as a parent');

export const GridFeatureSchema = z
  .strictObject({
    type: z.literal('Feature'),
    id: z
      .union([z.string(), z.number()])
      .optional()
      .describe('Optional feature id (not used; the code identifies a grid)'),
    properties: GridPropertiesSchema,
    geometry: GridGeometrySchema,
  })
  .describe('One grid or division');

export const GridFileSchema = z
  .strictObject({
    type: z.literal('FeatureCollection'),
    name: z.string().optional().describe('Free text, e.g. the source and date of the data'),
    crs: z.unknown().optional().describe('Ignored: coordinates are WGS84 (RFC 7946)'),
    features: z.array(GridFeatureSchema).describe('The city, its divisions and its grids, in any order'),
  })
  .describe('Grids as a GeoJSON FeatureCollection in WGS84');
