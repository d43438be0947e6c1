import { z } from 'zod';
import { ClusterConfigSchema } from '../features/cluster/cluster-config.js';
import { DetectorsConfigSchema } from '../features/detectors/config/detectors-config.js';
import { DispatcherConfigSchema, ForwardTargetSchema } from '../features/dispatcher/dispatcher-config.js';
import { DepartmentsConfigSchema } from '../features/departments/departments-config.js';
import { EventsConfigSchema } from '../features/events/events-config.js';
import { IngestConfigSchema } from '../features/ingest/ingest-config.js';
import {
  AuthConfigSchema,
  HttpConfigSchema,
  UserSchema,
  WallConfigSchema,
} from '../features/wall/wall-config.js';
import { WorkersConfigSchema } from '../features/workers/workers-config.js';
import { RedisConfigSchema } from '../core/redis/redis-config.js';

export const GatewayConfigSchema = z
  .strictObject({
    http: HttpConfigSchema.default({ host: '127.0.0.1', port: 8080, trustProxy: [] }),
    redis: RedisConfigSchema.optional(),
    dataDir: z
      .string()
      .default('./var')
      .describe('Data directory (embedded Redis AOF, evidence), relative to gateway.yaml'),
    retention: z
      .strictObject({
        alertsDays: z
          .number()
          .positive()
          .default(180)
          .describe('Closed and rejected alerts are deleted after this'),
        evidenceDays: z.number().positive().default(30).describe('Evidence JPEGs are deleted after this'),
        evidenceMaxMb: z
          .number()
          .positive()
          .default(20_480)
          .describe('Evidence directory size cap; oldest days go first'),
      })
      .default({ alertsDays: 180, evidenceDays: 30, evidenceMaxMb: 20_480 })
      .describe('How long alerts and evidence are kept'),
    timezone: z.string().default('Asia/Shanghai').describe('Zone for schedules and evidence dates'),
    cameras: z
      .strictObject({
        dirs: z
          .array(z.string())
          .min(1)
          .describe('Directories of camera YAML files, relative to gateway.yaml'),
      })
      .default({ dirs: ['./cameras'] })
      .describe(
        'Where camera files are; every *.yaml / *.yml directly in each directory is loaded and watched',
      ),
    grids: z
      .strictObject({ file: z.string().describe('Grid GeoJSON file, relative to gateway.yaml') })
      .default({ file: './grids/demo-city.geojson' })
      .describe('The grid (网格) hierarchy used to route alerts and scope users'),
    users: z.array(UserSchema).default([]).describe('Wall users'),
    wall: WallConfigSchema.default({ map: {} }),
    auth: AuthConfigSchema.default({ sessionTtlMin: 720, loginAttempts: 5, loginWindowSec: 300 }),
    forwarding: z
      .array(ForwardTargetSchema)
      .default([])
      .describe('Grid platforms that receive confirmed alerts'),
    ingest: IngestConfigSchema.default(IngestConfigSchema.parse({})),
    detectors: DetectorsConfigSchema.default(DetectorsConfigSchema.parse({})),
    dispatcher: DispatcherConfigSchema.default(DispatcherConfigSchema.parse({})),
    cluster: ClusterConfigSchema.default(ClusterConfigSchema.parse({})),
    events: EventsConfigSchema.default(EventsConfigSchema.parse({})),
    departments: DepartmentsConfigSchema.default({}),
    workers: WorkersConfigSchema.default(WorkersConfigSchema.parse({})),
  })
  .describe('gateway.yaml: the gateway process');
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
