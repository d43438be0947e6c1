/**
 * The typed job catalogue: the start-up check (every job name exactly one handler), producers
 * that validate, consumers that refuse an unknown name or a bad payload for good; the outbox
 * drained from parsed JSON entries; the alert state table used by the state machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_STATES } from '../../core/contracts/alert.js';
import {
  ALERT_ACTIONS,
  ALERT_STATE_TABLE,
  alertStatesDocument,
  OPEN_STATES,
} from '../../core/contracts/alert-states.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import { Codes, GridwatchError, InvalidTransitionError, ValidationError } from '../../core/errors.js';
import { loadGridFile } from '../../core/grid/grid-index.js';
import { createDispatcher, type Dispatcher } from '../../features/dispatcher/dispatcher.js';
import { ForwardTargetSchema } from '../../features/dispatcher/dispatcher-config.js';
import {
  bindHandlers,
  JOB_CATALOGUE,
  onJob,
  QUEUE_NAMES,
  type AnyJobHandler,
} from '../../features/dispatcher/job-registry.js';
import { applyAction } from '../../features/dispatcher/lifecycle.js';
import { outboxMember } from '../../features/dispatcher/outbox.js';
import { redisKeys } from '../../features/dispatcher/redis-keys.js';
import { startTestRedis } from '../helpers/redis.js';
import { actors, finding, GRID, testDispatcherOptions, waitFor, writeGridFile } from './fixtures.js';

const logger = pino({ level: process.env.GW_TEST_LOG ?? 'silent' });
let redis: Awaited<ReturnType<typeof startTestRedis>>;
let dir: string;
let grids: GridIndex;
const open: Dispatcher[] = [];
let n = 0;

beforeAll(async () => {
  redis = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'gw-jobs-'));
  grids = (await loadGridFile(await writeGridFile(dir))).index;
  process.env.GW_TEST_JOBS_SECRET = 'test-platform-secret-0123456789';
});
afterAll(async () => {
  await redis.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function make(workers = true) {
  const prefix = `jc${++n}`;
  const d = createDispatcher({
    ...testDispatcherOptions({ redisUrl: redis.url, dir, grids, logger, config: { prefix } }),
    // Nothing listens on port 9: forward jobs stay queued or retrying, which is all we look at.
    forwarding: [
      ForwardTargetSchema.parse({
        id: 'city',
        url: 'http://127.0.0.1:9/cases',
        secret: { env: 'GW_TEST_JOBS_SECRET' },
      }),
    ],
    workers,
  });
  open.push(d);
  await d.start();
  return { d, prefix };
}

/** One handler for every job name of the catalogue. */
function allHandlers(): AnyJobHandler[] {
  const out: AnyJobHandler[] = [];
  for (const q of QUEUE_NAMES)
    for (const name of Object.keys(JOB_CATALOGUE[q]))
      out.push(onJob(q, name as never, `test.${q}.${name}`, async () => 'ok') as AnyJobHandler);
  return out;
}

describe('start-up check: every job name has exactly one handler', () => {
  it('accepts the full set', () => {
    expect(bindHandlers(allHandlers()).get('findings')?.size).toBe(3);
  });

  it('a missing handler fails fast with a catalogue error naming the job', () => {
    const hs = allHandlers().filter((h) => !(h.queue === 'recheck' && h.name === 'recheck'));
    const err = (() => {
      try {
        bindHandlers(hs);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GridwatchError);
    expect((err as GridwatchError).code).toBe(Codes.GW_JOB_CATALOGUE);
    expect((err as GridwatchError).message).toContain('recheck/recheck has no handler');
  });

  it('two handlers for one job, or a handler for an unknown job, fail fast naming both', () => {
    const twice = [
      ...allHandlers(),
      onJob('findings', 'batch', 'test.second', async () => 'x') as AnyJobHandler,
    ];
    expect(() => bindHandlers(twice)).toThrow(
      /findings\/batch has two handlers: test\.findings\.batch and test\.second/,
    );
    const unknown = [
      ...allHandlers(),
      { queue: 'findings', name: 'nope', label: 'test.nope', handle: async () => 1 },
    ];
    expect(() => bindHandlers(unknown as AnyJobHandler[])).toThrow(
      /test\.nope handles findings\/nope, which is not in the job catalogue/,
    );
  });
});

describe('producers validate, consumers validate', () => {
  it('the producer refuses a bad payload before it reaches Redis, naming queue, job and field', async () => {
    const { d } = await make(false);
    const err = await d.jobs.add('recheck', 'recheck', { alertId: 'A1', round: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('round');
    expect((err as ValidationError).message).toContain('recheck job recheck');
    expect(await d.queues.recheck.getJobCountByTypes('wait', 'delayed')).toBe(0);
  });

  it('a job name the catalogue does not know fails for good, counted', async () => {
    const { d } = await make();
    // Written around the producer, as an older or foreign writer would.
    const job = await (
      d.queues.recheck as unknown as { add: (n: string, x: unknown) => Promise<{ id?: string }> }
    ).add('bogus', { alertId: 'A1', round: 1 });
    const failed = await waitFor('refused', async () => {
      const j = await d.queues.recheck.getJob(job.id!);
      // failedReason is read with the job: wait for it rather than for the state alone.
      return j?.failedReason && (await j.getState()) === 'failed' ? j : null;
    });
    expect(failed.failedReason).toContain('not in the job catalogue');
  });
});

describe('outbox', () => {
  it('queues the forward jobs of a JSON entry left behind, and drops an entry that does not parse', async () => {
    const { d, prefix } = await make(false);
    const { alert } = await d.engine.ingest(finding());
    const keys = redisKeys(prefix);
    const r = new Redis(redis.url);
    const old = Date.now() - 60_000;
    await r.zadd(keys.outbox, old, outboxMember({ alertId: alert!.id, seq: 1, kind: 'case.create' }));
    await r.zadd(keys.outbox, old, `${alert!.id}|1|case.create`);
    const { outbox } = await d.tick();
    expect(outbox).toBe(1);
    expect(await r.zcard(keys.outbox)).toBe(0);
    await r.quit();
    const jobs = await d.queues.forward.getJobs(['wait', 'delayed', 'active', 'failed']);
    expect(jobs.map((j) => [j.name, j.data])).toEqual([
      ['case.create', { alertId: alert!.id, targetId: 'city', seq: 1, kind: 'case.create' }],
    ]);
  });
});

describe('alert states: one table in core', () => {
  it('the state machine allows exactly the actions of the table, in every state', () => {
    const now = Date.now();
    for (const state of ALERT_STATES) {
      for (const action of ALERT_ACTIONS) {
        const a = {
          ...baseAlert(),
          state,
          escalationLevel: 0,
          claimedBy: state === 'claimed' ? { username: 'zhangsan', displayName: '张三', at: now } : null,
        };
        const act =
          action === 'reject'
            ? ({ action, reason: 'other' } as const)
            : ({ action } as { action: Exclude<typeof action, 'reject'> });
        const allowed = ALERT_STATE_TABLE[state].actions.includes(action);
        const run = () => applyAction(a, act, actors.zhang, now, null);
        if (allowed) expect(run, `${action} in ${state}`).not.toThrow();
        else expect(run, `${action} in ${state}`).toThrow(InvalidTransitionError);
      }
    }
  });

  it('open states and the document the wall serves', () => {
    expect([...OPEN_STATES].sort()).toEqual(
      ['claimed', 'confirmed', 'dispatched', 'escalated', 'forwarded', 'handled', 'new', 'verified'].sort(),
    );
    const doc = alertStatesDocument();
    expect(doc.actionableStates).toEqual(['new', 'claimed', 'escalated']);
    expect(doc.states.find((s) => s.state === 'rejected')).toMatchObject({ open: false, actions: [] });
    expect(doc.actions).toContainEqual({ action: 'reject', to: 'rejected' });
  });
});

function baseAlert() {
  return {
    id: 'A20261201-0000001',
    state: 'new' as const,
    type: 'illegal_parking',
    typeLabel: { zh: '违章停车', en: 'Illegal parking' },
    cameraId: 'cam-a',
    cameraName: 'cam',
    zoneId: null,
    zoneName: null,
    gridCode: GRID.gridA,
    gridPath: [
      { code: GRID.city, name: 'c', level: 'city' as const },
      { code: GRID.gridA, name: 'g', level: 'grid' as const },
    ],
    routedBy: 'camera' as const,
    location: { lon: 113.9, lat: 22.5 },
    score: 0.8,
    count: 1,
    trackIds: [],
    boxes: [],
    firstSeen: 0,
    lastSeen: 0,
    createdAt: 0,
    updatedAt: 0,
    evidence: { first: null, latest: null },
    claimedBy: null,
    escalationLevel: 0,
    rejectReason: null,
    caseId: null,
    version: 1,
    decidedBy: null,
    recheck: null,
  };
}
