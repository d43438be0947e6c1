import { z } from 'zod';
import type { ApiRouteDoc, ApiRouteGroup } from '../../core/http/api-route-doc.js';
import { Codes } from '../../core/errors.js';
import { ReporterContactReplySchema } from './create-events.js';
import { EVENT_SCHEMAS } from './event-schemas.js';
import { EVENT_KINDS, type EventKind } from './events-config.js';

/** The reply to an accepted event (202, or 200 for a repeat of the same source and eventId). */
export const EventAcceptedSchema = z
  .strictObject({
    ok: z.literal(true),
    findingId: z.string().describe('Id of the finding the event became'),
    eventId: z.string().describe("The source's event id, as sent"),
    source: z.string().describe('Source id'),
    duplicate: z.boolean().describe('The same (source, eventId) was accepted before: nothing new was raised'),
    mergedInto: z
      .string()
      .nullable()
      .describe('Alert id the report joined (an open camera alert nearby), or null'),
    gridCode: z.string().describe('Grid the location lies in'),
  })
  .describe('An event taken');

const KIND_TEXT: Record<EventKind, string> = {
  report: 'A citizen (随手拍) or grid-worker report with photos',
  parking_overstay: 'Smart-parking overstay (超时停车)',
  air_quality: 'Air-quality threshold breach (空气质量超标)',
};

/** Every version of a kind's body: the schemas the API validates with (event-schemas.ts). */
function bodyOf(kind: EventKind): z.ZodType {
  const versions = Object.values(EVENT_SCHEMAS[kind]);
  return versions.length === 1 ? versions[0]! : z.union(versions as [z.ZodType, z.ZodType, ...z.ZodType[]]);
}

const eventRoute = (kind: EventKind): ApiRouteDoc => ({
  method: 'post',
  path: `/${kind}`,
  summary: KIND_TEXT[kind],
  description:
    'Signed (HMAC) or keyed (API key) by a source of sources.yaml that may send this kind, within its grid scope and rate. ' +
    'The body is JSON, or multipart/form-data with the JSON in a part named `event` and the photos as file parts `photo` ' +
    '(added to `photos`); the HMAC covers the raw body either way. Photos are checked (JPEG, PNG or WebP, size) and stored without EXIF.',
  tag: 'events',
  auth: 'source',
  headers: [
    { name: 'X-Gridwatch-Source', required: true, description: 'Source id (sources.yaml)' },
    {
      name: 'X-Gridwatch-Timestamp',
      required: false,
      description:
        'Unix seconds the signature was made (hmac sources; at most events.maxSkewSec from gateway time)',
    },
  ],
  body: bodyOf(kind),
  multipart: {
    jsonPart: { name: 'event', schema: bodyOf(kind) },
    files: [
      {
        name: 'photo',
        required: false,
        multiple: true,
        description: 'A photo (JPEG, PNG or WebP); repeatable',
      },
    ],
  },
  ok: [
    {
      status: 202,
      description: 'Queued: it becomes an alert (or joins one nearby)',
      schema: EventAcceptedSchema,
    },
    {
      status: 200,
      description: 'A repeat of an event already taken (duplicate: true)',
      schema: EventAcceptedSchema,
    },
  ],
  errors: [
    Codes.GW_VALIDATION,
    Codes.GW_FORBIDDEN,
    Codes.GW_NOT_FOUND,
    Codes.GW_BODY_TOO_LARGE,
    Codes.GW_UNSUPPORTED_MEDIA_TYPE,
    Codes.GW_RATE_LIMITED,
  ],
  errorEnvelope: 'ok',
});

/** The events API: mount at /api/v1/events (Events.router). */
export const EVENTS_API: ApiRouteGroup = {
  mount: '/api/v1/events',
  tags: [
    {
      name: 'events',
      description:
        'Events from citizens, grid workers and sensor platforms (docs/events.md): sources sign with HMAC or send an API key',
    },
  ],
  routes: EVENT_KINDS.map(eventRoute),
};

/** The reporter-contact read: mount at /api/v1/alerts (Events.contactRouter). */
export const REPORTER_CONTACT_API: ApiRouteGroup = {
  mount: '/api/v1/alerts',
  tags: [],
  routes: [
    {
      method: 'get',
      path: '/:alertId/reporter-contact',
      summary: 'The private contacts of the reports of an alert (audited)',
      description:
        'For an admin with the alert in scope, or a supervising operator (scope above the alert’s grid); never a viewer. ' +
        'Each read is written to the alert’s audit before the contact is sent.',
      tag: 'alerts',
      auth: 'session',
      params: z.strictObject({
        alertId: z
          .string()
          .regex(/^[A-Za-z0-9:_-]{1,200}$/)
          .describe('Alert id'),
      }),
      ok: [{ status: 200, description: 'The contacts', schema: ReporterContactReplySchema }],
      errors: [Codes.GW_FORBIDDEN, Codes.GW_NOT_FOUND],
    },
  ],
};
