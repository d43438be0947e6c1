import { z } from 'zod';
import { GridCodeSchema, SecretRefSchema } from '../../core/contracts/common-schema.js';
import { FindingTypeSchema } from '../../core/contracts/finding.js';

/** The event kinds the API takes: POST /api/v1/events/<kind>. */
export const EVENT_KINDS = ['report', 'parking_overstay', 'air_quality'] as const;
export const EventKindSchema = z
  .enum(EVENT_KINDS)
  .describe('report 市民/网格员上报, parking_overstay 智慧停车超时, air_quality 空气质量超标');
export type EventKind = z.infer<typeof EventKindSchema>;

/** gateway.yaml `events:` — the events API (off unless a sources file is named). */
export const EventsConfigSchema = z
  .strictObject({
    sourcesFile: z
      .string()
      .optional()
      .describe('sources.yaml, relative to gateway.yaml; the events API is off without it'),
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .max(64 * 1024 * 1024)
      .default(16 * 1024 * 1024)
      .describe('Largest request body (photos included), bytes'),
    photoMaxBytes: z
      .number()
      .int()
      .positive()
      .max(32 * 1024 * 1024)
      .default(5 * 1024 * 1024)
      .describe('Largest photo (decoded), bytes'),
    maxPhotos: z.number().int().min(1).max(20).default(6).describe('Most photos per event'),
    maxSkewSec: z
      .number()
      .int()
      .positive()
      .default(300)
      .describe('Signed requests: most seconds between the signature timestamp and gateway time'),
    idempotencyTtlSec: z
      .number()
      .int()
      .positive()
      .default(7 * 86_400)
      .describe(
        'How long a (source, eventId) pair is remembered; a repeat within it is answered as a duplicate',
      ),
    merge: z
      .strictObject({
        distanceM: z
          .number()
          .positive()
          .max(5_000)
          .default(150)
          .describe('A report this close (metres) to an open camera alert of the same type merges into it'),
        windowSec: z
          .number()
          .positive()
          .max(7 * 86_400)
          .default(1_800)
          .describe('… when that alert was last seen at most this long before the report'),
      })
      .default({ distanceM: 150, windowSec: 1_800 })
      .describe('Merging reports into open camera alerts nearby'),
  })
  .describe('Events API for citizens, grid workers and sensor platforms (docs/events.md)');
export type EventsConfig = z.infer<typeof EventsConfigSchema>;

export const SourceSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, - and _, at most 32')
      .describe('Source id, sent in the X-Gridwatch-Source header'),
    name: z.string().min(1).max(100).describe('Name shown on the wall (e.g. 随手拍小程序)'),
    auth: z
      .discriminatedUnion('type', [
        z
          .strictObject({
            type: z.literal('hmac'),
            secret: SecretRefSchema.describe('HMAC-SHA256 key'),
          })
          .describe('X-Gridwatch-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">'),
        z
          .strictObject({
            type: z.literal('apiKey'),
            key: SecretRefSchema.describe('The API key'),
          })
          .describe('Authorization: Bearer <key>'),
      ])
      .describe('How the source proves who it is; the secret is read from the environment or a secrets file'),
    ratePerMin: z
      .number()
      .int()
      .positive()
      .max(100_000)
      .default(60)
      .describe('Most events accepted per minute (all gateway processes together); more get 429'),
    scope: z.array(GridCodeSchema).min(1).describe('Grids (subtrees) this source may report in'),
    kinds: z.array(EventKindSchema).min(1).describe('Event kinds this source may send'),
    types: z
      .array(FindingTypeSchema)
      .optional()
      .describe('Report types this source may send (kind report); omitted: any'),
    enabled: z.boolean().default(true),
  })
  .describe('One source of events');
export type Source = z.infer<typeof SourceSchema>;

export const SourcesFileSchema = z
  .strictObject({
    sources: z.array(SourceSchema).describe('Event sources'),
  })
  .describe('sources.yaml: who may send events');
export type SourcesFile = z.infer<typeof SourcesFileSchema>;
