import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Alert, AuditEntry } from '../../core/contracts/alert.js';
import { isOpenState } from '../../core/contracts/alert-states.js';
import type { Finding, FindingTypeInfo } from '../../core/contracts/finding.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import { Codes, ConflictError, GridwatchError, NotFoundError } from '../../core/errors.js';
import type { AlertStore, Commit } from './alert-store.js';
import type { DispatcherConfig } from './dispatcher-config.js';
import { isSuppressed as suppressionHits } from '../../core/rules/suppression-match.js';
import type { Suppression } from '../../core/contracts/suppression.js';
import { matchRejected, mergesInto, rejectedObjectOf } from './dedup.js';
import { escalate, type Change } from './lifecycle.js';
import type { RedisKeys } from './redis-keys.js';
import { dedupKey, routeFinding, routePoint } from './routing.js';

export const DEFAULT_DEDUP = { windowSec: 300, keys: ['camera', 'type', 'zone'] as const };
const MAX_CAS_ATTEMPTS = 50;

/**
 * What became of a finding: a new alert, merged into the open one, or dropped as a re-delivery
 * (duplicate), a suppressed rule, a rejected object still there (rejected_object), or a camera,
 * zone and rule cooling down after an alert (cooldown).
 */
export type IngestOutcome =
  | { kind: 'new' | 'update'; alert: Alert }
  | { kind: 'duplicate' | 'suppressed' | 'rejected_object' | 'cooldown'; alert: null };

export interface UpdateExtras {
  outbox?: { member: string; at: number } | null;
  outboxRemove?: string[];
  set?: Commit['set'];
  hset?: Commit['hset'];
}

export interface AlertEngine {
  ingest(f: Finding): Promise<IngestOutcome>;
  /**
   * Ingests a batch: findings with the same dedup key one after another, in batch order
   * (they would only race each other's compare-and-set), different keys at once (their
   * Redis calls share pipelines). One settled result per finding, in input order.
   */
  ingestMany(
    fs: readonly Finding[],
    /** Runs each same-key group; lets the caller cap how many groups are in flight at once. */
    gate?: <T>(fn: () => Promise<T>) => Promise<T>,
  ): Promise<PromiseSettledResult<IngestOutcome>[]>;
  /**
   * Compare-and-set loop: `fn` sees the current alert and returns the change (or null for
   * none); on a version race it runs again on the fresher alert, so its checks see the
   * winner's state and can throw ConflictError naming them.
   */
  update(id: string, fn: (a: Alert) => (Change & UpdateExtras) | null): Promise<Alert>;
  /** Escalates every unclaimed alert whose time is up; returns how many moved. */
  escalateDue(now: number): Promise<number>;
  escalateAfterMs(type: string): number | null;
  /** Suppression semantics from core/rules/suppression-match.ts (null zone = every zone). */
  isSuppressed(cameraId: string, zoneId: string | null, type: string): boolean;
  setSuppressed(list: readonly Suppression[]): void;
  /** The commit extras that remember a rejected alert's object (see dedup.ts). */
  rejectionMarker(a: Alert): NonNullable<Commit['hset']>;
}

export interface AlertEngineDeps {
  config: DispatcherConfig;
  redis: RedisClient;
  keys: RedisKeys;
  store: AlertStore;
  grids: () => GridIndex;
  cameras: () => readonly LoadedCamera[];
  typeInfo: (type: string) => FindingTypeInfo | undefined;
  clock: () => number;
  logger: Logger;
  metrics: Registry;
}

export function createAlertEngine(d: AlertEngineDeps): AlertEngine {
  const { config, redis, keys, store, clock, logger } = d;
  const findings = new Counter({
    name: 'gridwatch_dispatcher_findings_total',
    help: 'Findings processed by outcome (new alert, merged into an open one, duplicate delivery, suppressed, …)',
    labelNames: ['outcome'],
    registers: [d.metrics],
  });
  const transitions = new Counter({
    name: 'gridwatch_dispatcher_transitions_total',
    help: 'Alert state changes by target state',
    labelNames: ['to'],
    registers: [d.metrics],
  });
  const unroutable = new Counter({
    name: 'gridwatch_dispatcher_fallback_routed_total',
    help: 'Findings from cameras outside every grid, sent to the fallback grid',
    labelNames: ['camera'],
    registers: [d.metrics],
  });

  // Camera lookups by id. The list is re-read when its identity changes, but at most once a
  // second: a config store that hands out a fresh copy on every call (ConfigStore.cameras()
  // does) would otherwise cost a 2,000-entry Map per finding. Edits show within a second.
  let camList: readonly LoadedCamera[] | null = null;
  let camMap = new Map<string, LoadedCamera>();
  let camAt = -Infinity;
  const camera = (id: string, force = false): LoadedCamera | undefined => {
    const t = Date.now();
    if (camList === null || force || t - camAt >= 1_000) {
      const list = d.cameras();
      camAt = t;
      if (list !== camList) {
        camList = list;
        camMap = new Map(list.map((c) => [c.id, c]));
      }
    }
    // A camera added a moment ago must not fail its first finding for good: re-read on a miss.
    return camMap.get(id) ?? (force ? undefined : camera(id, true));
  };
  let suppressed: readonly Suppression[] = [];

  const dedupCfg = (type: string) => config.dedup[type] ?? config.dedup.default ?? DEFAULT_DEDUP;
  const cooldownSec = (type: string) => config.cooldownSec[type] ?? config.cooldownSec.default ?? 0;
  const rejectedFor = (f: { cameraId: string; zoneId: string | null; type: string }) =>
    keys.rejectedObjects(f.cameraId, f.zoneId, f.type);
  const escalateAfterMs = (type: string): number | null => {
    const s = config.escalateAfterSec[type] ?? config.escalateAfterSec.default;
    return s === undefined ? null : s * 1_000;
  };

  function merge(a: Alert, f: Finding, now: number): Alert {
    const newer = f.lastSeen >= a.lastSeen;
    return {
      ...a,
      count: a.count + 1,
      firstSeen: Math.min(a.firstSeen, f.firstSeen),
      lastSeen: Math.max(a.lastSeen, f.lastSeen),
      score: Math.max(a.score, f.score),
      trackIds: [...new Set([...a.trackIds, ...f.trackIds])].slice(0, 100),
      boxes: newer ? f.boxes : a.boxes,
      evidence: {
        ...(a.evidence.firstSeen || f.evidence.firstSeen
          ? { firstSeen: a.evidence.firstSeen ?? f.evidence.firstSeen ?? null }
          : {}),
        first: a.evidence.first ?? f.evidence.first,
        latest: newer ? (f.evidence.latest ?? f.evidence.first ?? a.evidence.latest) : a.evidence.latest,
      },
      updatedAt: now,
      version: a.version + 1,
    };
  }

  /** An events-API finding (issue 15): routed by its own location, named by its source. */
  function buildFromSource(
    f: Finding & Required<Pick<Finding, 'source' | 'location'>>,
    id: string,
    now: number,
  ): Alert {
    const route = routePoint(f.location, `finding ${f.id}`, d.grids(), config.fallbackGridCode);
    return newAlert(f, id, now, {
      cameraId: f.cameraId,
      cameraName: f.source.name,
      zoneName: null,
      route,
      location: f.location,
      source: f.source,
    });
  }

  /**
   * A report the events API matched to an open alert nearby: merged into it (count, times,
   * audit naming the report), its boxes and evidence left as they are. Null when that alert is
   * gone, no longer open or of another type: the finding then becomes an alert of its own.
   */
  async function mergeReport(f: Finding, intoId: string): Promise<IngestOutcome | null> {
    const seen = { key: keys.seen(f.id), ttlSec: config.seenTtlSec };
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      const open = await store.get(intoId);
      if (!open || !isOpenState(open.state) || open.type !== f.type) return null;
      const now = clock();
      const merged: Alert = { ...merge(open, f, now), boxes: open.boxes, evidence: open.evidence };
      const photos = [f.evidence.first, f.evidence.latest].filter((x): x is string => !!x);
      const r = await store.commit({
        alert: merged,
        expectVersion: open.version,
        previousState: open.state,
        audit: [
          {
            alertId: open.id,
            at: now,
            actor: `source:${f.source?.id ?? f.detector.plugin}`,
            action: 'merge_report',
            from: open.state,
            to: open.state,
            note: `report ${f.source?.eventId ?? f.id} (${f.source?.kind ?? 'event'}) merged: ${f.details?.mergeNote ?? 'near this alert'}${photos.length ? `; photos ${[...new Set(photos)].join(', ')}` : ''}`,
          },
        ],
        event: 'update',
        seen,
      });
      if (r.ok) {
        findings.inc({ outcome: 'merged' });
        return { kind: 'update', alert: merged };
      }
      if (r.reason === 'seen') {
        findings.inc({ outcome: 'duplicate' });
        return { kind: 'duplicate', alert: null };
      }
    }
    throw new ConflictError(`finding ${f.id}: alert ${intoId} kept changing`, { findingId: f.id });
  }

  async function build(f: Finding, id: string, now: number): Promise<Alert> {
    if (f.source && f.location)
      return buildFromSource({ ...f, source: f.source, location: f.location }, id, now);
    const cam = camera(f.cameraId);
    if (!cam)
      throw new GridwatchError(
        Codes.GW_UNKNOWN_CAMERA,
        `finding ${f.id}: camera ${f.cameraId} is not configured`,
        { field: 'cameraId', details: { cameraId: f.cameraId } },
      );
    const route = routeFinding(cam, f.zoneId, d.grids(), config.fallbackGridCode);
    if (route.routedBy === 'fallback') {
      unroutable.inc({ camera: cam.id });
      logger.warn(
        { cameraId: cam.id, file: cam.file, line: cam.line, reasons: route.skipped },
        'camera outside every grid: alert sent to the fallback grid',
      );
      await redis.hset(keys.unrouted, cam.id, JSON.stringify({ at: now, reasons: route.skipped }));
    } else if (route.skipped.length > 0) {
      logger.warn(
        { cameraId: cam.id, reasons: route.skipped },
        'grid code not in the grid index; routed by the next rule',
      );
    }
    return newAlert(f, id, now, {
      cameraId: cam.id,
      cameraName: cam.name,
      ...(cam.deviceId ? { deviceId: cam.deviceId } : {}),
      zoneName: route.zoneName,
      route,
      location: { lon: cam.wgs84.lon, lat: cam.wgs84.lat },
    });
  }

  /** A new alert from its first finding; the place (camera or events source) set by the caller. */
  function newAlert(
    f: Finding,
    id: string,
    now: number,
    place: {
      cameraId: string;
      cameraName: string;
      deviceId?: string;
      zoneName: string | null;
      route: { gridCode: Alert['gridCode']; gridPath: Alert['gridPath']; routedBy: Alert['routedBy'] };
      location: Alert['location'];
      source?: Alert['source'];
    },
  ): Alert {
    const info = d.typeInfo(f.type);
    const { route, source, ...named } = place;
    return {
      id,
      state: 'new',
      type: f.type,
      typeLabel: { zh: info?.zh ?? f.type, en: info?.en ?? f.type },
      ...named,
      zoneId: f.zoneId,
      gridCode: route.gridCode,
      gridPath: route.gridPath,
      routedBy: route.routedBy,
      score: f.score,
      count: 1,
      trackIds: f.trackIds,
      boxes: f.boxes,
      firstSeen: f.firstSeen,
      lastSeen: f.lastSeen,
      createdAt: now,
      updatedAt: now,
      evidence: {
        first: f.evidence.first,
        latest: f.evidence.latest ?? f.evidence.first,
        ...(f.evidence.firstSeen ? { firstSeen: f.evidence.firstSeen } : {}),
      },
      ...(f.why ? { why: f.why } : {}),
      claimedBy: null,
      escalationLevel: 0,
      rejectReason: null,
      caseId: null,
      version: 1,
      decidedBy: null,
      recheck: null,
      ...(source ? { source } : {}),
    };
  }

  const engine: AlertEngine = {
    escalateAfterMs,
    isSuppressed: (cameraId, zoneId, type) => suppressionHits(suppressed, { cameraId, zoneId, type }),
    setSuppressed(list) {
      suppressed = list.filter((s) => s.action === 'suppress');
    },
    rejectionMarker(a) {
      return [
        {
          key: rejectedFor(a),
          field: a.id,
          value: JSON.stringify(rejectedObjectOf(a)),
          ttlSec: config.rejectedObject.holdSec,
        },
      ];
    },

    async ingest(f) {
      if (engine.isSuppressed(f.cameraId, f.zoneId, f.type)) {
        findings.inc({ outcome: 'suppressed' });
        return { kind: 'suppressed', alert: null };
      }
      if (f.mergeInto) {
        const m = await mergeReport(f, f.mergeInto);
        if (m) return m;
      }
      const dc = dedupCfg(f.type);
      const dk = keys.dedup(dedupKey(f, dc.keys));
      const seen = { key: keys.seen(f.id), ttlSec: config.seenTtlSec };
      let built: Alert | null = null;
      let lastReason = '';
      for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
        // Many processes merging into one hot alert: back off a little, randomly, between tries.
        if (i > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * i)));
        const now = clock();
        const { id: openId, alert: open, rejected } = await store.lookup(dk, rejectedFor(f));
        // A rejected object that stays is not raised again, nor merged into another alert.
        const stays = matchRejected(rejected, f, config.rejectedObject.gapSec * 1_000);
        if (stays) {
          // Still there: remember it as seen now, so it stays covered while it stays.
          const key = rejectedFor(f);
          await redis
            .multi()
            .hset(
              key,
              stays.alertId,
              JSON.stringify({ ...stays, lastSeen: Math.max(stays.lastSeen, f.lastSeen) }),
            )
            .expire(key, config.rejectedObject.holdSec)
            .exec();
          findings.inc({ outcome: 'rejected_object' });
          return { kind: 'rejected_object', alert: null };
        }
        if (open && mergesInto(open, f, dc.windowSec * 1_000)) {
          const merged = merge(open, f, now);
          const r = await store.commit({
            alert: merged,
            expectVersion: open.version,
            previousState: open.state,
            audit: [],
            event: 'update',
            seen,
            dedup: { key: dk, expect: open.id, ttlSec: config.dedupHoldSec },
          });
          if (r.ok) {
            findings.inc({ outcome: 'merged' });
            return { kind: 'update', alert: merged };
          }
          lastReason = r.reason;
          if (r.reason === 'seen') break;
          continue;
        }
        built ??= await build(f, await store.nextId(now), now);
        const alert: Alert = { ...built, createdAt: now, updatedAt: now };
        const esc = escalateAfterMs(f.type);
        const cool = cooldownSec(f.type);
        const audit: AuditEntry = {
          alertId: alert.id,
          at: now,
          actor: 'system:dispatcher',
          action: 'create',
          from: null,
          to: 'new',
          note: `finding ${f.id} from ${f.detector.plugin}@${f.detector.version}, routed by ${alert.routedBy} to ${alert.gridPath.at(-1)?.name ?? alert.gridCode} (${alert.gridCode})`,
        };
        const r = await store.commit({
          alert,
          expectVersion: null,
          previousState: null,
          audit: [audit],
          event: 'new',
          seen,
          dedup: { key: dk, expect: openId ?? '', ttlSec: config.dedupHoldSec },
          escalateAt: esc === null || alert.gridPath.length < 2 ? null : now + esc,
          ...(cool > 0
            ? { cooldown: { key: keys.cooldown(f.cameraId, f.zoneId, f.type), ttlSec: cool } }
            : {}),
        });
        if (!r.ok && r.reason === 'cooldown') {
          findings.inc({ outcome: 'cooldown' });
          return { kind: 'cooldown', alert: null };
        }
        if (r.ok) {
          findings.inc({ outcome: 'new' });
          transitions.inc({ to: 'new' });
          return { kind: 'new', alert };
        }
        lastReason = r.reason;
        if (r.reason === 'seen') break;
        // Another process opened an alert for this key first: merge into it on the next turn.
      }
      if (lastReason !== 'seen') {
        // Lost every race: the job is retried with backoff rather than the finding dropped.
        throw new ConflictError(
          `finding ${f.id}: alert for ${dk} kept changing under ${MAX_CAS_ATTEMPTS} attempts`,
          { findingId: f.id },
        );
      }
      findings.inc({ outcome: 'duplicate' });
      return { kind: 'duplicate', alert: null };
    },

    async ingestMany(fs, gate = (fn) => fn()) {
      const out: PromiseSettledResult<IngestOutcome>[] = new Array(fs.length);
      const groups = new Map<string, number[]>();
      fs.forEach((f, i) => {
        const k = dedupKey(f, dedupCfg(f.type).keys);
        const g = groups.get(k);
        if (g) g.push(i);
        else groups.set(k, [i]);
      });
      await Promise.all(
        [...groups.values()].map((idx) =>
          gate(async () => {
            for (const i of idx) {
              try {
                out[i] = { status: 'fulfilled', value: await engine.ingest(fs[i]!) };
              } catch (reason) {
                out[i] = { status: 'rejected', reason };
              }
            }
          }),
        ),
      );
      return out;
    },

    async update(id, fn) {
      for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * i)));
        const cur = await store.get(id);
        if (!cur) throw new NotFoundError('alert', id);
        const change = fn(cur);
        if (!change) return cur;
        const r = await store.commit({
          alert: change.alert,
          expectVersion: cur.version,
          previousState: cur.state,
          audit: change.audit,
          event: 'update',
          ...(change.escalateAt !== undefined ? { escalateAt: change.escalateAt } : {}),
          ...(change.outbox !== undefined ? { outbox: change.outbox } : {}),
          ...(change.outboxRemove ? { outboxRemove: change.outboxRemove } : {}),
          ...(change.set ? { set: change.set } : {}),
          ...(change.hset ? { hset: change.hset } : {}),
        });
        if (r.ok) {
          if (cur.state !== change.alert.state) transitions.inc({ to: change.alert.state });
          return change.alert;
        }
      }
      throw new ConflictError(`alert ${id} kept changing; try again`, { alertId: id });
    },

    async escalateDue(now) {
      const due = await redis.zrangebyscore(keys.escalation, '-inf', now, 'LIMIT', 0, 500);
      let moved = 0;
      for (const id of due) {
        try {
          let eligible = true;
          await engine.update(id, (a) => {
            eligible = a.state === 'new' || a.state === 'escalated';
            return eligible
              ? escalate(a, now, 'system:escalation', escalateAfterMs(a.type), 'unclaimed in time')
              : null;
          });
          if (eligible) moved++;
          else await redis.zrem(keys.escalation, id);
        } catch (err) {
          if (err instanceof NotFoundError) {
            await redis.zrem(keys.escalation, id);
            continue;
          }
          if (err instanceof GridwatchError && err.code === Codes.GW_INVALID_TRANSITION) {
            await redis.zrem(keys.escalation, id);
            continue;
          }
          logger.error({ err, alertId: id }, 'escalation failed; retried on the next tick');
        }
      }
      return moved;
    },
  };
  return engine;
}
