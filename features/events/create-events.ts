import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { dirname } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { Redis, type RedisOptions } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import type { Alert } from '../../core/contracts/alert.js';
import type { Actor, AlertService } from '../../core/contracts/alert-service.js';
import { OPEN_STATES } from '../../core/contracts/alert-states.js';
import type { EvidenceStore } from '../../core/contracts/evidence-store.js';
import type { Finding, FindingSink, FindingSource, FindingTypeInfo } from '../../core/contracts/finding.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { toWgs84 } from '../../core/geo/crs.js';
import { resolveSecret } from '../../core/config/resolve-secret.js';
import { createWatchedConfigFile, type WatchedConfigFile } from '../../core/config/watched-config-file.js';
import { zodIssues } from '../../core/config/zod-issues.js';
import {
  Codes,
  ForbiddenError,
  GridwatchError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
  ValidationError,
  type InputIssue,
} from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { redisOptionsFromUrl } from '../../core/redis/redis-url.js';
import { boundaryError } from '../../core/redis/redis-unavailable.js';
import {
  EVENT_SCHEMAS,
  EVENT_TYPE_INFOS,
  KIND_TYPES,
  maskPlate,
  type AirQualityV1,
  type ParkingOverstayV1,
  type ReportV1,
} from './event-schemas.js';
import {
  EVENT_KINDS,
  SourcesFileSchema,
  type EventKind,
  type EventsConfig,
  type Source,
} from './events-config.js';
import { createRedisOutageLog } from '../../core/redis/redis-outage-log.js';
import { parseMultipart } from '../../core/http/multipart.js';
import { cleanPhoto, storePhotos } from '../../core/evidence/photo-evidence.js';
import { parseStored } from '../../core/redis/parse-stored.js';

/** Header names (docs/events.md). */
export const EVENT_HEADERS = {
  source: 'x-gridwatch-source',
  timestamp: 'x-gridwatch-timestamp',
  signature: 'x-gridwatch-signature',
} as const;

/** HMAC-SHA256 over `<unix seconds>.<raw body>`, hex: the same construction as platform callbacks. */
export function eventSignature(secret: string, timestampSec: number, body: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(`${timestampSec}.`).update(body).digest('hex')}`;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const sameSecret = (a: string, b: string) =>
  timingSafeEqual(Buffer.from(sha(a), 'hex'), Buffer.from(sha(b), 'hex'));

/** Great-circle distance in metres (haversine; sub-metre error at the distances compared here). */
export function distanceM(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

export interface EventsDeps {
  config: EventsConfig;
  /** gateway.yaml's folder: sourcesFile is relative to it. */
  baseDir: string;
  redisUrl: string;
  redisOptions?: RedisOptions;
  /** Key prefix (the dispatcher's). */
  prefix: string;
  sink: FindingSink;
  alerts: AlertService;
  grids: () => GridIndex;
  evidence: EvidenceStore;
  /** How long a reporter's contact is kept (seconds): the alerts' retention. */
  contactTtlSec: number;
  /** The wall user of a request (the wall's session check), for reading a reporter's contact. */
  actorOf?: (req: Request) => Promise<Actor>;
  clock?: () => number;
  watch?: boolean;
  logger: Logger;
  metrics: Registry;
}

/** A reporter's contact as kept in Redis (older entries hold only name and phone). */
const StoredContactSchema = z
  .strictObject({
    name: z.string().nullable(),
    phone: z.string().nullable(),
    role: z.enum(['citizen', 'grid_worker']).optional(),
    source: z.string().optional(),
    eventId: z.string().optional(),
    at: z.number().int().optional(),
  })
  .describe('Private contact of one report');
type StoredContact = z.infer<typeof StoredContactSchema>;

export const ReporterContactReplySchema = z
  .strictObject({
    alertId: z.string(),
    contacts: z
      .array(
        z.strictObject({
          source: z.string().describe('Events source id'),
          eventId: z.string().describe("The source's event id"),
          role: z.enum(['citizen', 'grid_worker']).nullable(),
          name: z.string().nullable(),
          phone: z.string().nullable(),
          reportedAt: z.number().int().nullable().describe('When the report says it happened (ms)'),
          merged: z.boolean().describe('A report merged into this alert (not the one that raised it)'),
        }),
      )
      .min(1),
  })
  .describe('GET /api/v1/alerts/<id>/reporter-contact: the contacts of the reports of an alert');

/**
 * Who may read a reporter's contact: an admin with the alert in scope, or a supervising
 * operator — one whose scope is an ancestor of the alert's grid (the township or district
 * above it), not the grid's own operators. Viewers never.
 */
export function mayReadContact(actor: Actor, a: Pick<Alert, 'gridCode'>): boolean {
  // Asked only of an alert the scope rule already let the actor see (AlertService.get: 404
  // otherwise), so an operator whose scope is not the alert's own grid is above it.
  if (actor.role === 'admin') return true;
  return actor.role === 'operator' && actor.scope !== a.gridCode;
}

export interface Events {
  /** Mount at /api/v1/events (before the wall's /api/v1 router). */
  router: Router;
  /**
   * Mount at /api/v1/alerts (before the wall's router): GET /:alertId/reporter-contact, for
   * admins and supervising operators, each read in the alert's audit. Passes on other paths.
   */
  contactRouter: Router;
  /** Labels of the finding types the sensor kinds raise. */
  typeInfos: FindingTypeInfo[];
  start(): Promise<void>;
  /** The sources file (hot-reloaded). */
  readonly sources: WatchedConfigFile<z.infer<typeof SourcesFileSchema>>;
  close(): Promise<void>;
}

/**
 * What the idempotency key of a source's event id holds: `pending` while the first request
 * runs, then the reply it gave (written by handle() below), so a repeat answers the same.
 */
const IdempotencyRecordSchema = z
  .object({
    findingId: z.string().describe('Finding id the event became'),
    state: z.enum(['pending', 'queued']).describe('pending while the first request runs'),
    eventId: z.string().optional().describe("The source's event id"),
    source: z.string().optional().describe('Source id'),
    duplicate: z.boolean().optional().describe('Always false in the stored first reply'),
    mergedInto: z.string().nullable().optional().describe('Alert the report merged into, if any'),
    gridCode: z.string().optional().describe('Grid the event was routed to'),
  })
  .strict()
  .describe('Idempotency record of one event id of one source (Redis)');

interface Accepted {
  findingId: string;
  eventId: string;
  source: string;
  duplicate: boolean;
  mergedInto: string | null;
  gridCode: string;
}

export function createEvents(d: EventsDeps): Events {
  const logger = d.logger.child({ component: 'events' });
  const clock = d.clock ?? Date.now;
  const cfg = d.config;
  if (!cfg.sourcesFile) throw new GridwatchError(Codes.GW_CONFIG_INVALID, 'events.sourcesFile is not set');
  const file = cfg.sourcesFile.startsWith('/') ? cfg.sourcesFile : `${d.baseDir}/${cfg.sourcesFile}`;
  const redis = new Redis({
    maxRetriesPerRequest: 3,
    ...redisOptionsFromUrl(d.redisUrl, d.redisOptions),
  });
  // One line per outage, not one per failed reconnect.
  const outage = createRedisOutageLog({ logger, what: 'events' });
  redis.on('error', (err) => outage.error(err, {}, 'redis connection error'));
  redis.on('ready', () => outage.recovered());
  const key = (...parts: string[]) => `${d.prefix}events:${parts.join(':')}`;
  const counter = new Counter({
    name: 'gridwatch_events_total',
    help: 'Events API requests by source, kind and outcome (accepted, merged, duplicate or an error code)',
    labelNames: ['source', 'kind', 'outcome'],
    registers: [d.metrics],
  });

  // Secrets are read when the file is (at load and on every accepted edit), never per request:
  // an edit naming a missing secret is rejected as a whole and the last good file stays.
  let secrets = new Map<string, string>();
  const readSecrets = (v: z.infer<typeof SourcesFileSchema>, locate: (p: (string | number)[]) => object) => {
    const out = new Map<string, string>();
    const issues: InputIssue[] = [];
    const seen = new Set<string>();
    v.sources.forEach((s, i) => {
      if (seen.has(s.id))
        issues.push({
          source: file,
          ...locate(['sources', i, 'id']),
          path: `sources[${i}].id`,
          expected: 'a unique source id',
          found: JSON.stringify(s.id),
          message: `source id ${s.id} is used twice`,
        });
      seen.add(s.id);
      try {
        out.set(s.id, resolveSecret(s.auth.type === 'hmac' ? s.auth.secret : s.auth.key, dirname(file)));
      } catch (err) {
        const path = `sources[${i}].auth.${s.auth.type === 'hmac' ? 'secret' : 'key'}`;
        issues.push({
          source: file,
          ...locate(['sources', i, 'auth']),
          path,
          expected: 'a readable secret',
          found: err instanceof GridwatchError ? err.code : 'unreadable',
          message: err instanceof Error ? err.message : String(err),
        });
      }
    });
    return { out, issues };
  };
  const sources = createWatchedConfigFile({
    file,
    schema: SourcesFileSchema,
    check: (v, locate) => {
      const r = readSecrets(v, locate);
      if (r.issues.length === 0) pendingSecrets = r.out;
      return r.issues;
    },
    logger,
    ...(d.watch !== undefined ? { watch: d.watch } : {}),
  });
  let pendingSecrets = new Map<string, string>();
  sources.onChange(() => {
    secrets = pendingSecrets;
  });

  function refuse(source: string, path: string, expected: string, found: string, message: string): never {
    throw new ValidationError(source, [{ source, path, expected, found, message }]);
  }

  async function readBody(req: Request, what: string): Promise<Buffer> {
    const len = Number(req.get('content-length') ?? 0);
    const tooLarge = () =>
      new GridwatchError(Codes.GW_BODY_TOO_LARGE, `${what}: body larger than ${cfg.maxBodyBytes} bytes`, {
        field: '(body)',
      });
    if (len > cfg.maxBodyBytes) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > cfg.maxBodyBytes) {
        req.resume();
        throw tooLarge();
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  function authenticate(req: Request, body: Buffer): Source {
    const id = req.get(EVENT_HEADERS.source) ?? '';
    const s = sources.current().sources.find((x) => x.id === id && x.enabled);
    const secret = s ? secrets.get(s.id) : undefined;
    if (!s || secret === undefined)
      throw new UnauthorizedError(`unknown or missing ${EVENT_HEADERS.source} header`);
    if (s.auth.type === 'apiKey') {
      const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
      if (!m || !sameSecret(m[1]!, secret))
        throw new UnauthorizedError('bad API key: Authorization: Bearer <key>');
      return s;
    }
    const tsText = req.get(EVENT_HEADERS.timestamp) ?? '';
    if (!/^\d{9,11}$/.test(tsText))
      throw new UnauthorizedError(`${EVENT_HEADERS.timestamp} must be unix seconds`);
    const skew = Math.abs(clock() / 1_000 - Number(tsText));
    if (skew > cfg.maxSkewSec)
      throw new UnauthorizedError(
        `stale timestamp: ${Math.round(skew)} s from gateway time (limit ${cfg.maxSkewSec} s)`,
      );
    const want = eventSignature(secret, Number(tsText), body);
    const got = (req.get(EVENT_HEADERS.signature) ?? '').trim();
    if (got.length !== want.length || !timingSafeEqual(Buffer.from(got), Buffer.from(want)))
      throw new UnauthorizedError(
        `bad signature: expected ${EVENT_HEADERS.signature}: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`,
      );
    return s;
  }

  /** Fixed one-minute window in Redis, shared by every gateway process. */
  async function rateLimit(s: Source): Promise<void> {
    const now = clock();
    const minute = Math.floor(now / 60_000);
    const k = key('rate', s.id, String(minute));
    const [[, n]] = (await redis.multi().incr(k).expire(k, 120).exec()) as [[null, number], [null, number]];
    if (n > s.ratePerMin)
      throw new RateLimitedError(Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1_000)));
  }

  /** The JSON body, from JSON or from multipart (an `event` part with the JSON, `photo` file parts). */
  function parseBody(req: Request, body: Buffer, what: string): unknown {
    const type = req.get('content-type') ?? '';
    let json: unknown;
    let files: Buffer[] = [];
    if (/^multipart\/form-data/i.test(type)) {
      const parts = parseMultipart(body, type, what);
      const ev = parts.find((p) => p.name === 'event');
      if (!ev)
        refuse(
          what,
          'event',
          'a multipart part named event holding the JSON',
          'none',
          'missing part "event"',
        );
      body = ev.data;
      files = parts.filter((p) => p.name === 'photo' || p.name === 'photos').map((p) => p.data);
    } else if (!/^application\/json/i.test(type)) {
      throw new GridwatchError(
        Codes.GW_UNSUPPORTED_MEDIA_TYPE,
        `${what}: body must be application/json or multipart/form-data`,
        { field: '(body)' },
      );
    }
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      refuse(what, '(body)', 'a JSON object', 'invalid JSON', 'body is not valid JSON');
    }
    if (files.length && json && typeof json === 'object' && !Array.isArray(json)) {
      const o = json as Record<string, unknown>;
      const given = Array.isArray(o.photos) ? o.photos : [];
      o.photos = [...given, ...files.map((f) => ({ data: f.toString('base64') }))];
    }
    return json;
  }

  function validate(
    kind: EventKind,
    json: unknown,
    what: string,
  ): ReportV1 | ParkingOverstayV1 | AirQualityV1 {
    const version = (json as { version?: unknown } | null)?.version;
    const schema = typeof version === 'number' ? EVENT_SCHEMAS[kind][version] : undefined;
    if (!schema)
      refuse(
        what,
        'version',
        `one of ${Object.keys(EVENT_SCHEMAS[kind]).join(', ')}`,
        JSON.stringify(version ?? null),
        'unknown or missing schema version',
      );
    const p = schema.safeParse(json);
    if (!p.success) throw new ValidationError(what, zodIssues(what, p.error, json));
    return p.data as ReportV1 | ParkingOverstayV1 | AirQualityV1;
  }

  /** An open camera alert of the same type near the point, last seen within the window. */
  async function nearbyAlert(
    type: string,
    at: { lon: number; lat: number },
    gridPath: string[],
    now: number,
  ) {
    // The township (or the nearest ancestor there is) around the report: camera alerts of the
    // street are routed to the camera's or its zone's grid, often the neighbouring one.
    const scope = gridPath[Math.max(0, gridPath.length - 3)]!;
    const page = await d.alerts.list({ scope, types: [type], states: [...OPEN_STATES], limit: 200 });
    let best: { a: Alert; m: number } | null = null;
    for (const a of page.items) {
      if (a.source || now - a.lastSeen > cfg.merge.windowSec * 1_000) continue;
      const m = distanceM(a.location, at);
      if (m <= cfg.merge.distanceM && (!best || m < best.m)) best = { a, m };
    }
    return best;
  }

  async function handle(req: Request, kindText: string): Promise<Accepted> {
    const what = `POST /api/v1/events/${kindText}`;
    if (!(EVENT_KINDS as readonly string[]).includes(kindText))
      throw new NotFoundError('event kind', kindText);
    const kind = kindText as EventKind;
    const body = await readBody(req, what);
    const s = authenticate(req, body);
    if (!s.kinds.includes(kind)) throw new ForbiddenError(`source ${s.id} may not send ${kind} events`);
    await rateLimit(s);
    const ev = validate(kind, parseBody(req, body, what), what);
    const type = kind === 'report' ? (ev as ReportV1).type : KIND_TYPES[kind].type;
    if (kind === 'report' && s.types && !s.types.includes(type))
      throw new GridwatchError(Codes.GW_FORBIDDEN, `source ${s.id} may not report ${type}`, {
        field: 'type',
      });
    const loc = ev.location;
    const wgs84 = toWgs84(loc.lon, loc.lat, loc.crs === 'CGCS2000' ? 'WGS84' : loc.crs);
    const grids = d.grids();
    const hit = grids.lookup(wgs84.lon, wgs84.lat);
    const path = hit ? grids.path(hit.code).map((g) => g.code) : [];
    if (!path.some((c) => s.scope.includes(c)))
      throw new GridwatchError(
        Codes.GW_FORBIDDEN,
        `location ${loc.lon},${loc.lat} (${loc.crs}) is ${hit ? `in grid ${hit.code}, ` : 'in no grid, '}outside source ${s.id}'s scope`,
        { field: 'location' },
      );
    const photosIn = 'photos' in ev ? ev.photos : [];
    if (photosIn.length > cfg.maxPhotos)
      refuse(
        what,
        'photos',
        `at most ${cfg.maxPhotos} photos`,
        `${photosIn.length} photos`,
        'too many photos',
      );
    // Photos are checked before anything is stored or remembered: a refused event leaves nothing.
    const cleaned: Buffer[] = [];
    for (const [i, p] of photosIn.entries())
      cleaned.push((await cleanPhoto(Buffer.from(p.data, 'base64'), `photos[${i}]`, cfg.photoMaxBytes)).jpeg);

    const now = clock();
    const h = sha(`${s.id}\n${ev.eventId}`).slice(0, 24);
    const findingId = `ev:${s.id}:${h}`;
    const idem = key('id', s.id, h);
    const claimed = await redis.set(
      idem,
      JSON.stringify(IdempotencyRecordSchema.parse({ findingId, state: 'pending' })),
      'EX',
      cfg.idempotencyTtlSec,
      'NX',
    );
    if (claimed === null) {
      const raw = await redis.get(idem);
      const stored = raw === null ? null : parseStored(IdempotencyRecordSchema, raw);
      if (stored && !stored.ok)
        logger.warn(
          { source: s.id, why: stored.why },
          'stored idempotency record is damaged; answered from the request',
        );
      const prev: Partial<z.infer<typeof IdempotencyRecordSchema>> = stored?.ok ? stored.value : {};
      return {
        findingId,
        eventId: ev.eventId,
        source: s.id,
        duplicate: true,
        mergedInto: prev.mergedInto ?? null,
        gridCode: prev.gridCode ?? hit!.code,
      };
    }
    try {
      const at = Math.min(now, ev.occurredAt ? Date.parse(ev.occurredAt) : now);
      const photos = await storePhotos(d.evidence, `ev_${s.id}_${h}`, cleaned, now);
      const near = kind === 'report' ? await nearbyAlert(type, wgs84, path, now) : null;
      let summary: string;
      let details: Record<string, unknown>;
      let sourceKind: FindingSource['kind'];
      if (kind === 'report') {
        const r = ev as ReportV1;
        sourceKind = r.reporter.role;
        summary = r.text.slice(0, 500);
        details = { text: r.text, ...(r.reporter.workerId ? { workerId: r.reporter.workerId } : {}) };
        if (r.reporter.name || r.reporter.phone) {
          // The contact is kept apart from the finding and the alert, so no wall reply, socket
          // event, audit entry or forwarded case can carry it.
          const contact: StoredContact = {
            name: r.reporter.name ?? null,
            phone: r.reporter.phone ?? null,
            role: r.reporter.role,
            source: s.id,
            eventId: ev.eventId,
            at,
          };
          const m = redis
            .multi()
            .set(key('contact', findingId), JSON.stringify(contact), 'EX', d.contactTtlSec);
          // A report merged into an alert: the alert knows it only from its audit, so remember
          // which contacts it may hold (checked against that audit when read).
          if (near)
            m.sadd(key('alert-contacts', near.a.id), findingId).expire(
              key('alert-contacts', near.a.id),
              d.contactTtlSec,
            );
          await m.exec();
        }
      } else if (kind === 'parking_overstay') {
        const p = ev as ParkingOverstayV1;
        sourceKind = 'parking';
        const overMin = Math.round((at - Date.parse(p.parkedAt)) / 60_000) - p.limitMin;
        const plate = maskPlate(p.plate);
        summary = `${p.lotName ?? p.lotId}${p.spaceId ? ` ${p.spaceId}` : ''}: ${plate} 超时 ${Math.max(0, overMin)} 分钟 (限 ${p.limitMin})`;
        details = {
          lotId: p.lotId,
          spaceId: p.spaceId ?? null,
          plate,
          parkedAt: p.parkedAt,
          limitMin: p.limitMin,
        };
      } else {
        const a = ev as AirQualityV1;
        sourceKind = 'air_quality';
        const over = Object.keys(a.thresholds).filter((k) => (a.values[k] ?? -1) > a.thresholds[k]!);
        summary = `${a.stationName ?? a.stationId}: ${over.map((k) => `${k} ${a.values[k]} > ${a.thresholds[k]}`).join(', ')}`;
        details = { stationId: a.stationId, values: a.values, thresholds: a.thresholds, breached: over };
      }
      const finding: Finding = {
        id: findingId,
        // One pseudo-camera per event: reports never dedup into each other by camera, zone and
        // type; a report joins a camera alert only through mergeInto (distance and time).
        cameraId: `ev:${s.id}:${h.slice(0, 16)}`,
        type,
        zoneId: null,
        score: 1,
        trackIds: [],
        boxes: [],
        firstSeen: at,
        lastSeen: at,
        evidence: { first: photos[0] ?? null, latest: photos.at(-1) ?? null },
        detector: { plugin: `events/${kind}`, version: String(ev.version) },
        details: {
          ...details,
          crs: loc.crs,
          photos,
          ...(near ? { mergeNote: `${Math.round(near.m)} m from ${near.a.cameraName}` } : {}),
        },
        source: { id: s.id, kind: sourceKind, name: s.name, eventId: ev.eventId, summary },
        location: wgs84,
        ...(near ? { mergeInto: near.a.id } : {}),
      };
      await d.sink.submit(finding);
      const out: Accepted = {
        findingId,
        eventId: ev.eventId,
        source: s.id,
        duplicate: false,
        mergedInto: near?.a.id ?? null,
        gridCode: hit!.code,
      };
      await redis.set(
        idem,
        JSON.stringify(IdempotencyRecordSchema.parse({ ...out, state: 'queued' })),
        'EX',
        cfg.idempotencyTtlSec,
      );
      return out;
    } catch (err) {
      // Not accepted: the same event id may be sent again.
      await redis.del(idem).catch(() => undefined);
      throw err;
    }
  }

  const router = express.Router();
  router.post('/:kind', async (req: Request, res: Response) => {
    const kind = String(req.params.kind);
    const label = (EVENT_KINDS as readonly string[]).includes(kind) ? kind : 'unknown';
    const src = (req.get(EVENT_HEADERS.source) ?? '').slice(0, 32) || '-';
    try {
      const out = await handle(req, kind);
      counter.inc({
        source: src,
        kind: label,
        outcome: out.duplicate ? 'duplicate' : out.mergedInto ? 'merged' : 'accepted',
      });
      logger.info(
        {
          source: out.source,
          kind,
          findingId: out.findingId,
          duplicate: out.duplicate,
          mergedInto: out.mergedInto,
        },
        'event accepted',
      );
      res.status(out.duplicate ? 200 : 202).json({ ok: true, ...out });
    } catch (err) {
      const e = boundaryError(err);
      counter.inc({ source: src, kind: label, outcome: e.code });
      if (e.status >= 500) logger.error({ err }, 'event failed');
      else logger.warn({ code: e.code, message: e.message, source: src, kind }, 'event refused');
      if (e instanceof RateLimitedError) res.set('retry-after', String(e.details?.retryAfterSec ?? 60));
      if (!req.complete) res.set('connection', 'close');
      res.status(e.status).json({ ok: false, error: e.toJSON() });
    }
  });
  // Wrong method or path under the events API: catalogue JSON, not the wall's page.
  router.use((req, res) => {
    const e = new NotFoundError('route', `${req.method} ${req.baseUrl}${req.path}`);
    res.status(e.status).json({ ok: false, error: e.toJSON() });
  });

  /** The contacts of an alert's reports: the one that raised it and those merged into it. */
  async function contactsOf(
    a: Alert,
    actor: Actor,
  ): Promise<z.infer<typeof ReporterContactReplySchema>['contacts']> {
    const ids: { findingId: string; merged: boolean }[] = [];
    if (a.source && (a.source.kind === 'citizen' || a.source.kind === 'grid_worker'))
      ids.push({
        findingId: `ev:${a.source.id}:${sha(`${a.source.id}\n${a.source.eventId}`).slice(0, 24)}`,
        merged: false,
      });
    const mergedIds = await redis.smembers(key('alert-contacts', a.id));
    const audit = mergedIds.length ? await d.alerts.audit(a.id, actor) : [];
    for (const f of mergedIds) ids.push({ findingId: f, merged: true });
    const out: z.infer<typeof ReporterContactReplySchema>['contacts'] = [];
    for (const { findingId, merged } of ids) {
      const raw = await redis.get(key('contact', findingId));
      if (raw === null) continue;
      const p = parseStored(StoredContactSchema, raw);
      if (!p.ok) {
        logger.error(
          { alertId: a.id, findingId, why: p.why },
          'stored reporter contact does not parse; skipped',
        );
        continue;
      }
      const c = p.value;
      const source = c.source ?? (merged ? null : (a.source?.id ?? null));
      const eventId = c.eventId ?? (merged ? null : (a.source?.eventId ?? null));
      if (source === null || eventId === null) continue;
      // A merge that did not land (the alert had closed meanwhile: the report raised its own
      // alert) left its id here too: only a report this alert's audit names as merged counts.
      if (
        merged &&
        !audit.some(
          (e) =>
            e.action === 'merge_report' &&
            e.actor === `source:${source}` &&
            (e.note ?? '').includes(`report ${eventId} `),
        )
      )
        continue;
      out.push({
        source,
        eventId,
        role: c.role ?? null,
        name: c.name,
        phone: c.phone,
        reportedAt: c.at ?? null,
        merged,
      });
    }
    return out;
  }

  const contactRouter = express.Router();
  contactRouter.get('/:alertId/reporter-contact', async (req: Request, res: Response) => {
    const id = String(req.params.alertId);
    try {
      if (!d.actorOf) throw new GridwatchError(Codes.GW_NOT_READY, 'reporter contacts are not served here');
      const actor = await d.actorOf(req);
      if (!/^[A-Za-z0-9:_-]{1,200}$/.test(id)) throw new NotFoundError('alert', id.slice(0, 200));
      // Out of scope: 404, as for the alert itself.
      const a = await d.alerts.get(id, actor);
      if (!mayReadContact(actor, a)) {
        logger.warn({ alertId: id, user: actor.username, role: actor.role }, 'reporter contact read refused');
        throw new ForbiddenError(
          'only an admin or a supervising operator (scope above the alert’s grid) may read a reporter’s contact',
        );
      }
      const contacts = await contactsOf(a, actor);
      if (contacts.length === 0) throw new NotFoundError('reporter contact of alert', id);
      // The read is audited before the contact leaves: no audit entry, no contact.
      await d.alerts.act(
        id,
        {
          action: 'note',
          note: `查看举报人联系方式 (${contacts.length} 条: ${contacts.map((c) => `${c.source}/${c.eventId}`).join(', ')})`.slice(
            0,
            2_000,
          ),
        },
        actor,
      );
      logger.info({ alertId: id, user: actor.username, count: contacts.length }, 'reporter contact read');
      res.set('cache-control', 'no-store');
      res.json(ReporterContactReplySchema.parse({ alertId: id, contacts }));
    } catch (err) {
      const e = boundaryError(err);
      if (e.status >= 500) logger.error({ err }, 'reporter contact request failed');
      res.status(e.status).json(e.toJSON());
    }
  });

  let closing: Promise<void> | null = null;
  return {
    router,
    contactRouter,
    typeInfos: EVENT_TYPE_INFOS,
    sources,
    async start() {
      await sources.load();
      secrets = pendingSecrets;
    },
    close() {
      closing ??= (async () => {
        await sources.close();
        await redis.quit().catch(() => redis.disconnect());
        outage.close();
      })();
      return closing;
    },
  };
}
