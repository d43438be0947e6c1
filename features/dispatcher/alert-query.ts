import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../core/redis/redis-client.js';
import { z } from 'zod';
import type { Alert } from '../../core/contracts/alert.js';
import { AlertStateSchema, AuditEntrySchema } from '../../core/contracts/alert.js';
import type {
  AlertPage,
  AlertQuery,
  AlertTimeline,
  AlertTimelineQuery,
} from '../../core/contracts/alert-service.js';
import { GridCodeSchema } from '../../core/contracts/common-schema.js';
import { ValidationError } from '../../core/errors.js';
import type { AlertStore } from './alert-store.js';
import type { RedisKeys } from './redis-keys.js';
import { zodIssues } from '../../core/config/zod-issues.js';

export const AlertQuerySchema = z
  .strictObject({
    scope: GridCodeSchema.describe('Grid subtree the caller may see'),
    gridCode: GridCodeSchema.optional().describe('Narrow to this subtree (inside scope)'),
    types: z.array(z.string().min(1).max(64)).max(50).optional(),
    states: z.array(AlertStateSchema).max(20).optional(),
    cameraId: z.string().min(1).max(64).optional(),
    from: z.number().int().nonnegative().optional().describe('createdAt ≥ from (ms)'),
    to: z.number().int().nonnegative().optional().describe('createdAt ≤ to (ms)'),
    text: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('Substring of camera, zone, type or grid names, or the alert id'),
    limit: z.number().int().min(1).max(500),
    cursor: z.string().max(4_000).optional(),
  })
  .describe('History query, newest first');

const CursorSchema = z.strictObject({ s: z.number(), ids: z.array(z.string()).max(1_000) });
/** Text search reads at most this many candidates; `total` says how many matched among them. */
const TEXT_SCAN_LIMIT = 20_000;

function decodeCursor(c: string | undefined): z.infer<typeof CursorSchema> | null {
  if (!c) return null;
  try {
    return CursorSchema.parse(JSON.parse(Buffer.from(c, 'base64url').toString('utf8')));
  } catch {
    throw new ValidationError('alerts query', [
      {
        source: 'alerts query',
        path: 'cursor',
        expected: 'a cursor returned by a previous page',
        found: c.slice(0, 40),
        message: 'invalid cursor',
      },
    ]);
  }
}

function matches(a: Alert, text: string): boolean {
  const t = text.toLowerCase();
  const hay = [
    a.id,
    a.cameraName,
    a.cameraId,
    a.zoneName ?? '',
    a.typeLabel.zh,
    a.typeLabel.en,
    a.type,
    ...a.gridPath.map((g) => g.name),
    a.gridCode,
  ];
  return hay.some((h) => h.toLowerCase().includes(t));
}

export async function queryAlerts(
  redis: RedisClient,
  keys: RedisKeys,
  store: AlertStore,
  input: AlertQuery,
): Promise<AlertPage> {
  const parsed = AlertQuerySchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError('alerts query', zodIssues('alerts query', parsed.error, input));
  }
  const q = parsed.data;
  const base = keys.byGrid(q.gridCode ?? q.scope);
  const sets: string[] = [base];
  const tmpKeys: string[] = [];
  const p = redis.multi();
  const tmp = keys.tmp(randomUUID());
  const union = (name: string, members: string[]) => {
    const k = keys.tmp(`${randomUUID()}:${name}`);
    tmpKeys.push(k);
    p.zunionstore(k, members.length, ...members);
    sets.push(k);
  };
  if (q.types?.length)
    union(
      'types',
      q.types.map((t) => keys.byType(t)),
    );
  if (q.states?.length)
    union(
      'states',
      q.states.map((s) => keys.byState(s)),
    );
  if (q.cameraId) sets.push(keys.byCamera(q.cameraId));
  let key = base;
  if (sets.length > 1) {
    // Weight 1 on the grid index only: the result's score stays createdAt.
    p.zinterstore(tmp, sets.length, ...sets, 'WEIGHTS', ...sets.map((_, i) => (i === 0 ? 1 : 0)));
    p.expire(tmp, 60);
    if (tmpKeys.length) p.del(...tmpKeys);
    await p.exec();
    key = tmp;
  }
  try {
    const min = String(q.from ?? '-inf');
    const cur = decodeCursor(q.cursor);
    const max = String(cur ? cur.s : (q.to ?? '+inf'));
    const skip = new Set(cur?.ids ?? []);
    const items: Alert[] = [];
    let total: number;
    let nextCursor: string | null = null;
    let lastScore: number | null = null;
    let lastIds: string[] = [...skip];
    if (!q.text) total = await redis.zcount(key, min, String(q.to ?? '+inf'));
    else total = 0;
    let offset = 0;
    let scanned = 0;
    const chunk = Math.max(q.limit + skip.size, 100);
    for (;;) {
      const raw = await redis.zrange(key, max, min, 'BYSCORE', 'REV', 'LIMIT', offset, chunk, 'WITHSCORES');
      if (raw.length === 0) break;
      offset += raw.length / 2;
      const ids: string[] = [];
      const scores = new Map<string, number>();
      for (let i = 0; i < raw.length; i += 2) {
        ids.push(raw[i]!);
        scores.set(raw[i]!, Number(raw[i + 1]));
      }
      const alerts = await store.getMany(ids.filter((id) => !skip.has(id)));
      for (const a of alerts) {
        scanned++;
        if (q.text && !matches(a, q.text)) continue;
        if (items.length < q.limit) {
          items.push(a);
          const s = scores.get(a.id)!;
          if (s !== lastScore) lastIds = s === cur?.s ? [...skip] : [];
          lastScore = s;
          lastIds.push(a.id);
        } else if (!nextCursor) {
          nextCursor = Buffer.from(JSON.stringify({ s: lastScore, ids: lastIds }), 'utf8').toString(
            'base64url',
          );
          if (!q.text) break;
        }
        if (q.text) total++;
      }
      if (raw.length / 2 < chunk) break;
      if (!q.text && nextCursor) break;
      if (q.text && scanned >= TEXT_SCAN_LIMIT) break;
    }
    return { items, nextCursor, total };
  } finally {
    if (key === tmp) await redis.del(tmp);
  }
}

export const AlertTimelineQuerySchema = z
  .strictObject({
    scope: GridCodeSchema.describe('Grid subtree to read'),
    types: z.array(z.string().min(1).max(64)).max(50).optional().describe('Only these finding types'),
    from: z.number().int().nonnegative().describe('createdAt ≥ from (ms)'),
    to: z.number().int().nonnegative().describe('createdAt ≤ to (ms)'),
    limit: z.number().int().min(1).max(100_000).describe('At most this many alerts, newest first'),
  })
  .describe('Statistics read: alerts with their audit times');

/** Alerts and audits are read in pipelined chunks of this many. */
const TIMELINE_CHUNK = 500;

/**
 * Alerts created in [from, to] under a grid with the times their audit first records a claim,
 * a decision (confirm or reject) and closing. The audit is the record of what happened; the
 * alert's own fields are overwritten (a release clears claimedBy), so times come from it.
 */
export async function alertTimelines(
  redis: RedisClient,
  keys: RedisKeys,
  store: AlertStore,
  input: AlertTimelineQuery,
): Promise<{ items: AlertTimeline[]; truncated: boolean }> {
  const parsed = AlertTimelineQuerySchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError('alert timeline query', zodIssues('alert timeline query', parsed.error, input));
  }
  const q = parsed.data;
  const ids = await redis.zrange(
    keys.byGrid(q.scope),
    String(q.to),
    String(q.from),
    'BYSCORE',
    'REV',
    'LIMIT',
    0,
    q.limit + 1,
  );
  const truncated = ids.length > q.limit;
  const wanted = q.types?.length ? new Set(q.types) : null;
  const items: AlertTimeline[] = [];
  for (let i = 0; i < Math.min(ids.length, q.limit); i += TIMELINE_CHUNK) {
    const alerts = (await store.getMany(ids.slice(i, Math.min(i + TIMELINE_CHUNK, q.limit)))).filter(
      (a) => !wanted || wanted.has(a.type),
    );
    const p = redis.pipeline();
    for (const a of alerts) p.lrange(keys.audit(a.id), 0, -1);
    const res = (await p.exec()) ?? [];
    alerts.forEach((alert, k) => {
      const [err, list] = res[k] ?? [null, []];
      if (err) throw err;
      let claimedAt: number | null = null;
      let decidedAt: number | null = null;
      let closedAt: number | null = null;
      for (const j of list as string[]) {
        const e = AuditEntrySchema.parse(JSON.parse(j));
        if (e.to === 'claimed') claimedAt ??= e.at;
        if (e.to === 'confirmed' || e.to === 'rejected') decidedAt ??= e.at;
        if (e.to === 'closed') closedAt ??= e.at;
      }
      items.push({ alert, claimedAt, decidedAt, closedAt });
    });
  }
  return { items, truncated };
}
