import { hostname } from 'node:os';
import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AlertStateSchema, type Alert } from '../../core/contracts/alert.js';
import type { AlertNotifier } from '../../core/contracts/alert-service.js';
import { SuppressionSchema, type Suppression } from '../../core/contracts/suppression.js';

/**
 * Relays alert change events from the Redis stream (written atomically with each change by
 * the commit script, in whichever dispatcher process made it) to this gateway's notifier.
 *
 * A consumer group means each event is relayed by exactly one gateway process: with the
 * socket.io redis-streams adapter, that process's room emit already reaches every node, so
 * relaying in every process would show each alert N times. Events a dead gateway had read but
 * not acknowledged are claimed by a live one after `claimIdleMs`.
 */
export interface AlertRelay {
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Only the commit script writes alert events, with JSON.stringify of an Alert the engine built
 * from a validated finding; the full AlertSchema check cost ~4 % of the dispatcher's CPU per
 * finding (profile of the throughput bench). This schema checks the fields the walls route and
 * order by, which keeps a stray entry (another writer, a damaged stream) from reaching them.
 */
const AlertEventShape = z
  .looseObject({
    id: z.string().describe('Alert id'),
    state: AlertStateSchema,
    type: z.string().describe('Finding type'),
    gridCode: z.string().describe('Grid the alert is routed to'),
    gridPath: z.array(z.looseObject({ code: z.string() })).describe('Rooms the event goes to'),
    version: z.number().describe('Clients drop stale updates by it'),
  })
  .describe('The routing fields of an alert event');

export function createAlertRelay(d: {
  /** A dedicated connection: XREADGROUP BLOCK holds it. Closed by the relay. */
  redis: RedisClient;
  stream: string;
  group: string;
  notifier: AlertNotifier;
  onSuppression: (s: Suppression, kind: 'new' | 'lifted') => void;
  logger: Logger;
  claimIdleMs?: number;
}): AlertRelay {
  const { redis, stream, group, logger } = d;
  const consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let closed = false;
  let loop: Promise<void> | null = null;
  let closing: Promise<void> | null = null;
  const claimIdleMs = d.claimIdleMs ?? 60_000;

  function deliver(fields: string[]): void {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
    const kind = f.kind ?? '';
    if ((kind === 'new' || kind === 'update') && f.alert) {
      // Only the commit script writes this stream, with JSON.stringify of an Alert the engine
      // built from a validated finding; the full schema check cost ~4 % of the dispatcher's CPU
      // per finding (profile of the throughput bench). A cheap shape check still keeps a stray
      // entry (another writer, a damaged stream) from reaching the walls.
      const a: unknown = JSON.parse(f.alert);
      const r = AlertEventShape.safeParse(a);
      if (!r.success) {
        logger.error(
          { issues: r.error.issues.slice(0, 3) },
          'alert event does not look like an Alert; dropped',
        );
        return;
      }
      d.notifier.alertChanged(a as Alert, kind);
      return;
    }
    if ((kind === 'suppression.new' || kind === 'suppression.lifted') && f.suppression) {
      const p = SuppressionSchema.safeParse(JSON.parse(f.suppression));
      if (!p.success) {
        logger.error({ issues: p.error.issues.slice(0, 3) }, 'suppression event does not parse; dropped');
        return;
      }
      const s = p.data;
      const k = kind === 'suppression.new' ? 'new' : 'lifted';
      d.notifier.suppressionChanged?.(s, k);
      d.onSuppression(s, k);
      return;
    }
    logger.warn({ kind }, 'unknown alert event kind; dropped');
  }

  type Entries = [string, string[]][];
  async function handle(entries: Entries): Promise<void> {
    for (const [id, fields] of entries) {
      try {
        deliver(fields);
      } catch (err) {
        // A broken notifier must not stall the stream for every later alert.
        logger.error({ err, id }, 'notifier threw on an alert event');
      }
    }
    if (entries.length) await redis.xack(stream, group, ...entries.map(([id]) => id));
  }

  async function run(): Promise<void> {
    let lastClaim = 0;
    let pendingFirst = true;
    while (!closed) {
      try {
        if (Date.now() - lastClaim > claimIdleMs / 2) {
          lastClaim = Date.now();
          const claimed = (await redis.xautoclaim(
            stream,
            group,
            consumer,
            claimIdleMs,
            '0-0',
            'COUNT',
            500,
          )) as [string, Entries];
          await handle(claimed[1].filter((e) => Array.isArray(e[1])));
        }
        const res = (await redis.xreadgroup(
          'GROUP',
          group,
          consumer,
          'COUNT',
          500,
          'BLOCK',
          1_000,
          'STREAMS',
          stream,
          pendingFirst ? '0' : '>',
        )) as [string, Entries][] | null;
        const entries = res?.[0]?.[1] ?? [];
        if (pendingFirst && entries.length === 0) pendingFirst = false;
        await handle(entries);
      } catch (err) {
        if (closed) return;
        logger.error({ err }, 'alert relay read failed; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  return {
    async start() {
      try {
        await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
      } catch (err) {
        if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw err;
      }
      loop ??= run();
    },
    close() {
      closing ??= (async () => {
        closed = true;
        // Disconnecting ends the blocked XREADGROUP at once instead of waiting for its timeout.
        redis.disconnect();
        await loop;
      })();
      return closing;
    },
  };
}
