/**
 * The "why raised" explanation and the first-seen evidence a detector puts on the raising
 * finding reach the alert (core/contracts/alert.ts) and stay when later findings merge in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertSchema } from '../../../core/contracts/alert.js';
import { FindingSchema } from '../../../core/contracts/finding.js';
import { loadGridFile } from '../../../core/grid/grid-index.js';
import { createDispatcher } from '../../../features/dispatcher/dispatcher.js';
import { startTestRedis } from '../../helpers/redis.js';
import { actors, finding, testDispatcherOptions, writeGridFile } from '../../dispatcher/fixtures.js';

let redis: Awaited<ReturnType<typeof startTestRedis>>;
let dir: string;
beforeAll(async () => {
  redis = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'gw-why-'));
});
afterAll(async () => {
  await redis.close();
  await rm(dir, { recursive: true, force: true });
});

const why = {
  rule: 'illegal_parking',
  plugin: 'illegal_parking',
  zoneId: 'z-noparking',
  zoneName: '禁停区',
  heldSec: 20,
  dwellSec: 20,
  score: 0.75,
  recheckScore: 0.82,
  raisedAt: Date.now(),
};

describe('why raised, on the alert', () => {
  it('the raising finding’s why and first-seen evidence are on the alert, and survive a merge', async () => {
    const grids = (await loadGridFile(await writeGridFile(dir))).index;
    const d = createDispatcher(
      testDispatcherOptions({
        redisUrl: redis.url,
        dir,
        grids,
        logger: pino({ level: 'silent' }),
        config: { prefix: 'why' },
      }),
    );
    await d.start();
    try {
      const f = FindingSchema.parse(
        finding({ why, evidence: { first: 'd/raise.jpg', latest: 'd/raise.jpg', firstSeen: 'd/seen.jpg' } }),
      );
      const r = await d.engine.ingest(f);
      expect(r.kind).toBe('new');
      const a = await d.alerts.get(r.alert!.id, actors.admin);
      expect(AlertSchema.parse(a)).toMatchObject({
        why,
        evidence: { first: 'd/raise.jpg', firstSeen: 'd/seen.jpg' },
      });
      // A refresh (no why, no first-seen frame) updates the latest evidence only.
      const refresh = finding({
        firstSeen: f.firstSeen,
        lastSeen: f.lastSeen + 60_000,
        evidence: { first: 'd/raise.jpg', latest: 'd/later.jpg' },
      });
      const m = await d.engine.ingest(refresh);
      expect(m.kind).toBe('update');
      const b = await d.alerts.get(r.alert!.id, actors.admin);
      expect(b).toMatchObject({
        why,
        evidence: { first: 'd/raise.jpg', latest: 'd/later.jpg', firstSeen: 'd/seen.jpg' },
      });
    } finally {
      await d.close();
    }
  });

  it('a finding with a malformed why is refused by the contract', () => {
    const r = FindingSchema.safeParse(finding({ why: { ...why, score: 3 } }));
    expect(r.success).toBe(false);
  });
});
