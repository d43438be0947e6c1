import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import type { Alert } from '../../core/contracts/alert.js';
import { SuppressionSchema, type Suppression } from '../../core/contracts/suppression.js';
import { NotFoundError } from '../../core/errors.js';
import type { DispatcherConfig } from './dispatcher-config.js';
import type { RedisKeys } from './redis-keys.js';

/** Reasons that blame the rule; 'duplicate' and 'other' say nothing about detection quality. */
const COUNTED = new Set(['false_detection', 'not_violation']);

export interface Feedback {
  /** Counts a rejection; returns the suppression when this one crossed the threshold. */
  onReject(a: Alert, now: number): Promise<Suppression | null>;
  list(): Promise<Suppression[]>;
  lift(id: string, by: string): Promise<void>;
}

export function suppressionId(cameraId: string, zoneId: string | null, type: string): string {
  return `s.${cameraId}.${zoneId ?? '_'}.${type}`;
}

export function createFeedback(d: {
  config: DispatcherConfig;
  redis: RedisClient;
  keys: RedisKeys;
  eventsMaxLen: number;
  logger: Logger;
}): Feedback {
  const { redis, keys } = d;
  const cfg = d.config.feedback;
  /** A stored suppression, parsed; a damaged one (e.g. dwellFactor 0) is logged and left out. */
  function parseStored(j: string): Suppression | null {
    let raw: unknown;
    try {
      raw = JSON.parse(j);
    } catch {
      raw = null;
    }
    const p = SuppressionSchema.safeParse(raw);
    if (p.success) return p.data;
    d.logger.error(
      { issues: p.error.issues.slice(0, 3) },
      'stored suppression does not match its schema; ignored until lifted',
    );
    return null;
  }
  return {
    async onReject(a, now) {
      if (!a.rejectReason || !COUNTED.has(a.rejectReason)) return null;
      const k = keys.rejections(a.cameraId, a.zoneId, a.type);
      const res = await redis
        .multi()
        .zadd(k, now, a.id)
        .zremrangebyscore(k, '-inf', now - cfg.windowSec * 1_000)
        .pexpire(k, Math.ceil(cfg.windowSec * 1_000))
        .zcard(k)
        .exec();
      const count = Number(res?.[3]?.[1] ?? 0);
      if (count < cfg.rejections) return null;
      const s: Suppression = {
        id: suppressionId(a.cameraId, a.zoneId, a.type),
        cameraId: a.cameraId,
        zoneId: a.zoneId,
        type: a.type,
        action: cfg.action,
        // The config schema already refuses a factor below 1; the stored one is checked again
        // on every read (parseStored), so a damaged record cannot hand a 0 to the detectors.
        dwellFactor: cfg.action === 'raise_dwell' ? Math.max(1, cfg.dwellFactor) : 1,
        rejections: count,
        createdAt: now,
      };
      const json = JSON.stringify(SuppressionSchema.parse(s));
      const created = await redis.hsetnx(keys.suppressions, s.id, json);
      if (created === 0) return null;
      await redis.xadd(
        keys.events,
        'MAXLEN',
        '~',
        d.eventsMaxLen,
        '*',
        'kind',
        'suppression.new',
        'suppression',
        json,
      );
      d.logger.warn(
        { suppression: s },
        `rule ${a.type} on camera ${a.cameraId} zone ${a.zoneId ?? '-'}: ${count} rejections in ${cfg.windowSec}s → ${cfg.action}`,
      );
      return s;
    },
    async list() {
      const all = await redis.hvals(keys.suppressions);
      const out: Suppression[] = [];
      for (const j of all) {
        const s = parseStored(j);
        if (s) out.push(s);
      }
      return out.sort((x, y) => x.createdAt - y.createdAt);
    },
    async lift(id, by) {
      const j = await redis.hget(keys.suppressions, id);
      if (j === null) throw new NotFoundError('suppression', id);
      // A damaged record can still be lifted; only its rejection counter is left to expire.
      const s = parseStored(j);
      const m = redis.multi().hdel(keys.suppressions, id);
      if (s) m.del(keys.rejections(s.cameraId, s.zoneId, s.type));
      await m
        .xadd(keys.events, 'MAXLEN', '~', d.eventsMaxLen, '*', 'kind', 'suppression.lifted', 'suppression', j)
        .exec();
      d.logger.info({ suppression: s ?? { id }, by }, 'suppression lifted');
    },
  };
}
