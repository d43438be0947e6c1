import { z } from 'zod';

/** Statistical division codes (GB/T 2260 + 统计用区划代码) by level, and 15-digit grid codes. */
export const GRID_LEVELS = ['city', 'county', 'township', 'community', 'grid'] as const;
export const GridLevelSchema = z
  .enum(GRID_LEVELS)
  .describe(
    'Level in the city hierarchy: city (4-digit code), county (6), township (9), community or village (12), grid (15)',
  );
export type GridLevel = z.infer<typeof GridLevelSchema>;

export const CODE_LENGTH: Record<GridLevel, number> = {
  city: 4,
  county: 6,
  township: 9,
  community: 12,
  grid: 15,
};

export const GridCodeSchema = z
  .string()
  .regex(/^(\d{4}|\d{6}|\d{9}|\d{12}|\d{15})$/, 'a division or grid code of 4, 6, 9, 12 or 15 digits')
  .describe(
    'Division or grid code: 4 (city), 6 (county), 9 (township), 12 (community/village) or 15 (grid) digits',
  );

export const CrsSchema = z
  .enum(['WGS84', 'GCJ02', 'BD09'])
  .describe(
    'Coordinate system of a longitude/latitude pair: WGS84 (GPS), GCJ02 (国测局, AMap/Tencent), BD09 (Baidu)',
  );
export type Crs = z.infer<typeof CrsSchema>;

/**
 * What a camera position may be given in: the systems above and CGCS2000 (国家2000, what
 * Tianditu uses), read as WGS84: the two differ by centimetres, far below what a camera
 * position needs (a documented approximation, docs/integration.md).
 */
export const LocationCrsSchema = z
  .enum([...CrsSchema.options, 'CGCS2000'])
  .describe(
    'Coordinate system of a camera position: WGS84 (GPS), GCJ02 (国测局, AMap/Tencent), BD09 (Baidu), CGCS2000 (国家2000, Tianditu; read as WGS84)',
  );
export type LocationCrs = z.infer<typeof LocationCrsSchema>;

export const DurationSecSchema = z
  .number()
  .positive()
  .max(86_400 * 30)
  .describe('Duration in seconds');

/** A secret never written into config files: read from the environment or a secrets file. */
export const SecretRefSchema = z
  .union([
    z.strictObject({
      env: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name in UPPER_SNAKE_CASE')
        .describe('Environment variable holding the secret'),
    }),
    z.strictObject({
      file: z
        .string()
        .min(1)
        .describe(
          'Secrets file (YAML or JSON map, or a plain file holding only the secret), relative to the config file',
        ),
      key: z
        .string()
        .min(1)
        .optional()
        .describe('Key inside the secrets file; omit when the file holds only the secret'),
    }),
  ])
  .describe('Where to read a secret: {env: NAME} or {file: path, key?: name}');
export type SecretRef = z.infer<typeof SecretRefSchema>;
