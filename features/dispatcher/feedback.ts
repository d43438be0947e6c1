import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Alert } from '../../core/contracts/alert.js';
import type { Suppression } from '../../core/contracts/alert-service.js';
import { NotFoundError } from '../../core/errors.js';
import type { DispatcherConfig } from './dispatcher-config.js';
import type { RedisKeys } from './redis-keys.js';

/** Reasons that blame the rule; 'duplicate' and 'other' say nothing about detection quality. */
const COUNTED = new Set(['false_detection', 'not_violation']);

export interface Feedback {
  /** Counts a rejection; returns the suppression when this one crossed the threshold. */
  onReject(a: Alert, now: number): Promise<Suppression | null>;
  list(): Promise<Suppression[]>;
  lift(id: string, by: string): Promise<Suppression>;
}

export function suppressionId(cameraId: string, zoneId: string | null, type: string): string {
  return `s.${cameraId}.${zoneId ?? '_'}.${type}`;
}

export function createFeedback(d: {
  config: DispatcherConfig;
  redis: Redis;
  keys: RedisKeys;
  eventsMaxLen: number;
  logger: Logger;
}): Feedback {
  const { redis, keys } = d;
  const cfg = d.config.feedback;
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
        dwellFactor: cfg.action === 'raise_dwell' ? 2 : 1,
        rejections: count,
        createdAt: now,
      };
      const json = JSON.stringify(s);
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
      return all.map((j) => JSON.parse(j) as Suppression).sort((x, y) => x.createdAt - y.createdAt);
    },
    async lift(id, by) {
      const j = await redis.hget(keys.suppressions, id);
      if (j === null) throw new NotFoundError('suppression', id);
      const s = JSON.parse(j) as Suppression;
      await redis
        .multi()
        .hdel(keys.suppressions, id)
        .del(keys.rejections(s.cameraId, s.zoneId, s.type))
        .xadd(keys.events, 'MAXLEN', '~', d.eventsMaxLen, '*', 'kind', 'suppression.lifted', 'suppression', j)
        .exec();
      d.logger.info({ suppression: s, by }, 'suppression lifted');
      return s;
    },
  };
}
