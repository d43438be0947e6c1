import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RedisClient } from '../../core/redis/redis-client.js';
import type { Logger } from 'pino';
import type { AlertStore } from './alert-store.js';
import type { RedisKeys } from './redis-keys.js';

export interface RetentionConfig {
  alertsDays: number;
  evidenceDays: number;
  evidenceMaxMb: number;
}

/** Deletes closed and rejected alerts (with audit trail and index entries) older than the limit. */
export async function sweepAlerts(d: {
  redis: RedisClient;
  keys: RedisKeys;
  store: AlertStore;
  now: number;
  alertsDays: number;
  logger: Logger;
}): Promise<number> {
  const cutoff = d.now - d.alertsDays * 86_400_000;
  let removed = 0;
  for (const state of ['closed', 'rejected']) {
    for (;;) {
      const ids = await d.redis.zrangebyscore(d.keys.byState(state), '-inf', cutoff, 'LIMIT', 0, 500);
      if (ids.length === 0) break;
      const alerts = await d.store.getMany(ids);
      for (const a of alerts) await d.store.remove(a);
      // Index entries whose alert is already gone would otherwise be read forever.
      const found = new Set(alerts.map((a) => a.id));
      const orphans = ids.filter((id) => !found.has(id));
      if (orphans.length) await d.redis.zrem(d.keys.byState(state), ...orphans);
      removed += ids.length;
    }
  }
  if (removed)
    d.logger.info(
      { removed, alertsDays: d.alertsDays },
      'alert retention: old closed/rejected alerts deleted',
    );
  return removed;
}

interface EvidenceFile {
  day: string;
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * Evidence folders are YYYY-MM-DD (gateway time zone). Days older than `evidenceDays` go;
 * then, while the store is over its size cap, the oldest files go first. Alerts keep their
 * evidence paths: the wall shows "evidence expired" for a file that is gone.
 */
export async function sweepEvidence(d: {
  dir: string;
  now: number;
  evidenceDays: number;
  evidenceMaxMb: number;
  timeZone: string;
  logger: Logger;
}): Promise<{ daysRemoved: number; filesRemoved: number; bytes: number }> {
  let days: string[];
  try {
    days = (await readdir(d.dir)).filter((n) => /^\d{4}-\d{2}-\d{2}$/.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { daysRemoved: 0, filesRemoved: 0, bytes: 0 };
    throw err;
  }
  const cutoffDay = new Intl.DateTimeFormat('en-CA', {
    timeZone: d.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(d.now - d.evidenceDays * 86_400_000);
  let daysRemoved = 0;
  const keep: string[] = [];
  for (const day of days) {
    if (day < cutoffDay) {
      await rm(join(d.dir, day), { recursive: true, force: true });
      daysRemoved++;
    } else keep.push(day);
  }
  const files: EvidenceFile[] = [];
  let bytes = 0;
  for (const day of keep) {
    for (const name of await readdir(join(d.dir, day))) {
      const path = join(d.dir, day, name);
      try {
        const s = await stat(path);
        if (!s.isFile()) continue;
        files.push({ day, path, size: s.size, mtimeMs: s.mtimeMs });
        bytes += s.size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  const cap = d.evidenceMaxMb * 1024 * 1024;
  let filesRemoved = 0;
  if (bytes > cap) {
    files.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.mtimeMs - b.mtimeMs));
    const perDay = new Map<string, number>();
    for (const f of files) perDay.set(f.day, (perDay.get(f.day) ?? 0) + 1);
    for (const f of files) {
      if (bytes <= cap) break;
      await rm(f.path, { force: true });
      bytes -= f.size;
      filesRemoved++;
      const left = perDay.get(f.day)! - 1;
      perDay.set(f.day, left);
      if (left === 0) {
        await rm(join(d.dir, f.day), { recursive: true, force: true });
        daysRemoved++;
      }
    }
  }
  if (daysRemoved || filesRemoved)
    d.logger.info({ daysRemoved, filesRemoved, bytes }, 'evidence retention sweep');
  return { daysRemoved, filesRemoved, bytes };
}
