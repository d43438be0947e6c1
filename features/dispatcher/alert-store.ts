import {
  AlertSchema,
  AuditEntrySchema,
  type Alert,
  type AlertState,
  type AuditEntry,
} from '../../core/contracts/alert.js';
import { Codes, GridwatchError } from '../../core/errors.js';
import type { RedisClient } from '../../core/redis/redis-client.js';
import { RejectedObjectSchema, type RejectedObject } from './dedup.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * One atomic change, applied by a Lua script: compare the alert's version, write the alert,
 * move its indexes, append audit entries and the change event. Everything in one script so a
 * crash or a racing process can never leave an alert without its audit entry or event.
 */
export interface Commit {
  alert: Alert;
  /** Version the stored alert must have; null: the alert must not exist yet. */
  expectVersion: number | null;
  previousState: AlertState | null;
  audit: AuditEntry[];
  event: 'new' | 'update' | null;
  /** Finding id to remember (re-delivery guard), checked before anything is written. */
  seen?: { key: string; ttlSec: number };
  /** Dedup key to point at this alert; `expect` is the id it must point at now ('' = absent). */
  dedup?: { key: string; expect: string; ttlSec: number };
  escalateAt?: number | null;
  outbox?: { member: string; at: number } | null;
  outboxRemove?: string[];
  /** Extra keys to set (value, ttl seconds or 0). */
  set?: { key: string; value: string; ttlSec: number }[];
  /** Hash fields to set; the hash's expiry is set to ttlSec (> 0). */
  hset?: { key: string; field: string; value: string; ttlSec: number }[];
  /** New alerts only: refused ('cooldown') while this key exists; set with the ttl otherwise. */
  cooldown?: { key: string; ttlSec: number };
}

export type CommitResult =
  | { ok: true }
  | { ok: false; reason: 'conflict'; current: Alert | null }
  | { ok: false; reason: 'seen' }
  | { ok: false; reason: 'dedup' }
  | { ok: false; reason: 'cooldown' };

// KEYS[1] is the alert; the other keys (indexes, dedup, seen, audit, stream: how many depends
// on the change) travel in ARGV. On Redis Cluster the declared key routes the script to its
// slot's master, and every other key is in that same slot because all dispatcher keys share one
// hash tag (redis-keys.ts clusterPrefix); test/cluster/dispatcher-cluster.test.ts runs it there.
const COMMIT_LUA = `
local op = cjson.decode(ARGV[1])
local json = ARGV[2]
if op.seenKey then
  if redis.call('EXISTS', op.seenKey) == 1 then return {'seen'} end
end
local cur = redis.call('HGET', KEYS[1], 'v')
if op.expectVersion == cjson.null then
  if cur then return {'conflict', redis.call('HGET', KEYS[1], 'j')} end
else
  if (not cur) or tonumber(cur) ~= op.expectVersion then
    return {'conflict', redis.call('HGET', KEYS[1], 'j') or ''}
  end
end
if op.dedupKey then
  local d = redis.call('GET', op.dedupKey) or ''
  if d ~= op.dedupExpect then return {'dedup'} end
  redis.call('SET', op.dedupKey, op.id, 'EX', op.dedupTtl)
end
if op.cooldownKey then
  if redis.call('EXISTS', op.cooldownKey) == 1 then return {'cooldown'} end
  redis.call('SET', op.cooldownKey, op.id, 'EX', op.cooldownTtl)
end
if op.seenKey then redis.call('SET', op.seenKey, op.id, 'EX', op.seenTtl) end
redis.call('HSET', KEYS[1], 'v', op.version, 'j', json)
for _, z in ipairs(op.zrem) do redis.call('ZREM', z[1], z[2]) end
for _, z in ipairs(op.zadd) do redis.call('ZADD', z[1], z[2], z[3]) end
for _, s in ipairs(op.set) do
  if s[3] > 0 then redis.call('SET', s[1], s[2], 'EX', s[3]) else redis.call('SET', s[1], s[2]) end
end
for _, h in ipairs(op.hset) do
  redis.call('HSET', h[1], h[2], h[3])
  redis.call('EXPIRE', h[1], h[4])
end
for i = 3, #ARGV do redis.call('RPUSH', op.auditKey, ARGV[i]) end
if op.event ~= '' then
  redis.call('XADD', op.stream, 'MAXLEN', '~', op.maxLen, '*', 'kind', op.event, 'alert', json)
end
return {'ok'}
`;

/**
 * The alert a dedup key points at and the rejected objects of the finding's camera, zone and
 * rule, in one round trip: {id or '', alert JSON or '', field, value, field, value, ...}.
 */
const LOOKUP_LUA = `
local id = redis.call('GET', KEYS[1]) or ''
local j = ''
if id ~= '' then j = redis.call('HGET', ARGV[1] .. id, 'j') or '' end
local out = {id, j}
local rej = redis.call('HGETALL', KEYS[2])
for i = 1, #rej do out[#out + 1] = rej[i] end
return out
`;

const SCRIPT_NAME = 'gwCommitAlert';
const LOOKUP_NAME = 'gwLookupAlert';

type CommitCommand = (...args: string[]) => Promise<string[]>;
type LookupCommand = (key: string, rejectedKey: string, alertKeyPrefix: string) => Promise<string[]>;

export interface Lookup {
  /** Alert id the dedup key points at (null: none). */
  id: string | null;
  /** That alert, when it still exists. */
  alert: Alert | null;
  /** Rejected objects of the same camera, zone and rule. */
  rejected: RejectedObject[];
}

export interface AlertStore {
  commit(c: Commit): Promise<CommitResult>;
  get(id: string): Promise<Alert | null>;
  /** What the engine needs to place a finding: the alert its dedup key points at, rejected objects. */
  lookup(dedupKey: string, rejectedKey: string): Promise<Lookup>;
  getMany(ids: string[]): Promise<Alert[]>;
  audit(id: string): Promise<AuditEntry[]>;
  /** Deletes an alert with its audit trail and index entries (retention). */
  remove(alert: Alert): Promise<void>;
  nextId(at: number): Promise<string>;
}

export function createAlertStore(opts: {
  redis: RedisClient;
  keys: RedisKeys;
  eventsMaxLen: number;
}): AlertStore {
  const { redis, keys } = opts;
  if (!(SCRIPT_NAME in redis)) redis.defineCommand(SCRIPT_NAME, { numberOfKeys: 1, lua: COMMIT_LUA });
  if (!(LOOKUP_NAME in redis)) redis.defineCommand(LOOKUP_NAME, { numberOfKeys: 2, lua: LOOKUP_LUA });
  const run = (redis as unknown as Record<string, CommitCommand>)[SCRIPT_NAME]!.bind(redis);
  const runLookup = (redis as unknown as Record<string, LookupCommand>)[LOOKUP_NAME]!.bind(redis);
  const alertPrefix = keys.alert('');
  // Ids handed out from a block reserved with one INCRBY: one round trip per 64 new alerts.
  let idNext = 0;
  let idEnd = 0;
  let idBlock: Promise<void> | null = null;

  const parse = (json: string, id: string): Alert => {
    const r = AlertSchema.safeParse(JSON.parse(json));
    if (!r.success)
      throw new GridwatchError(
        Codes.GW_ALERT_CORRUPT,
        `stored alert ${id} does not match the schema: ${r.error.message}`,
      );
    return r.data;
  };

  function indexes(a: Alert): [string, number][] {
    const out: [string, number][] = [
      [keys.byTime, a.createdAt],
      [keys.byType(a.type), a.createdAt],
      [keys.byCamera(a.cameraId), a.createdAt],
      [keys.byState(a.state), a.updatedAt],
    ];
    for (const g of a.gridPath) out.push([keys.byGrid(g.code), a.createdAt]);
    if (!a.gridPath.some((g) => g.code === a.gridCode)) out.push([keys.byGrid(a.gridCode), a.createdAt]);
    return out;
  }

  return {
    async commit(c) {
      const a = c.alert;
      const zadd: [string, number, string][] = [];
      const zrem: [string, string][] = [];
      if (c.previousState === null) {
        for (const [k, s] of indexes(a)) zadd.push([k, s, a.id]);
      } else if (c.previousState !== a.state) {
        zrem.push([keys.byState(c.previousState), a.id]);
        zadd.push([keys.byState(a.state), a.updatedAt, a.id]);
      }
      if (c.escalateAt === null) zrem.push([keys.escalation, a.id]);
      else if (c.escalateAt !== undefined) zadd.push([keys.escalation, c.escalateAt, a.id]);
      if (c.outbox) zadd.push([keys.outbox, c.outbox.at, c.outbox.member]);
      for (const m of c.outboxRemove ?? []) zrem.push([keys.outbox, m]);
      const op = {
        id: a.id,
        auditKey: keys.audit(a.id),
        expectVersion: c.expectVersion,
        version: a.version,
        seenKey: c.seen?.key,
        seenTtl: c.seen?.ttlSec,
        dedupKey: c.dedup?.key,
        dedupExpect: c.dedup?.expect,
        dedupTtl: c.dedup ? Math.max(1, Math.ceil(c.dedup.ttlSec)) : undefined,
        cooldownKey: c.cooldown?.key,
        cooldownTtl: c.cooldown ? Math.max(1, Math.ceil(c.cooldown.ttlSec)) : undefined,
        hset: (c.hset ?? []).map((h) => [h.key, h.field, h.value, Math.max(1, Math.ceil(h.ttlSec))]),
        zadd,
        zrem,
        set: (c.set ?? []).map((s) => [s.key, s.value, s.ttlSec]),
        event: c.event ?? '',
        stream: keys.events,
        maxLen: opts.eventsMaxLen,
      };
      // The alert goes as its own argument: the script stores it without decoding it (and cjson
      // would re-encode [] as {}).
      const reply = await run(
        keys.alert(a.id),
        JSON.stringify(op),
        JSON.stringify(a),
        ...c.audit.map((e) => JSON.stringify(AuditEntrySchema.parse(e))),
      );
      switch (reply[0]) {
        case 'ok':
          return { ok: true };
        case 'seen':
          return { ok: false, reason: 'seen' };
        case 'dedup':
          return { ok: false, reason: 'dedup' };
        case 'cooldown':
          return { ok: false, reason: 'cooldown' };
        default:
          return { ok: false, reason: 'conflict', current: reply[1] ? parse(reply[1], a.id) : null };
      }
    },
    async get(id) {
      const j = await redis.hget(keys.alert(id), 'j');
      return j === null ? null : parse(j, id);
    },
    async lookup(dedupKey, rejectedKey) {
      const r = await runLookup(dedupKey, rejectedKey, alertPrefix);
      const id = r[0] || null;
      const rejected: RejectedObject[] = [];
      for (let i = 2; i + 1 < r.length; i += 2) {
        // A damaged marker only loses its protection; it must not stop the finding.
        let raw: unknown = null;
        try {
          raw = JSON.parse(r[i + 1]!);
        } catch {
          raw = null;
        }
        const p = RejectedObjectSchema.safeParse(raw);
        if (p.success) rejected.push(p.data);
      }
      return { id, alert: id && r[1] ? parse(r[1], id) : null, rejected };
    },
    async getMany(ids) {
      if (ids.length === 0) return [];
      const p = redis.pipeline();
      for (const id of ids) p.hget(keys.alert(id), 'j');
      const res = (await p.exec()) ?? [];
      const out: Alert[] = [];
      res.forEach(([err, j], i) => {
        if (err) throw err;
        if (typeof j === 'string') out.push(parse(j, ids[i]!));
      });
      return out;
    },
    async audit(id) {
      const list = await redis.lrange(keys.audit(id), 0, -1);
      return list.map((j) => AuditEntrySchema.parse(JSON.parse(j)));
    },
    async remove(a) {
      const p = redis.multi();
      p.del(keys.alert(a.id), keys.audit(a.id));
      for (const [k] of indexes(a)) p.zrem(k, a.id);
      p.zrem(keys.escalation, a.id);
      await p.exec();
    },
    async nextId(at) {
      while (idNext >= idEnd) {
        idBlock ??= (async () => {
          const end = await redis.incrby(keys.seq, 64);
          idNext = end - 63;
          idEnd = end + 1;
        })().finally(() => (idBlock = null));
        await idBlock;
      }
      const n = idNext++;
      // Sortable within a process and unique across processes; the day helps an operator read it aloud.
      const d = new Date(at).toISOString().slice(0, 10).replace(/-/g, '');
      return `A${d}-${String(n).padStart(7, '0')}`;
    },
  };
}
