import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../features/dispatcher/dispatcher.js';
import { readPluginTypes } from '../../features/detectors/index.js';
import { REPO_ROOT } from '../helpers/media.js';
import { DispatcherConfigSchema, ForwardTargetSchema } from '../../features/dispatcher/dispatcher-config.js';
import type { Alert } from '../../core/contracts/alert.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';
import type { RecheckProbe } from '../../core/contracts/alert-service.js';
import { ConflictError, GridwatchError, InvalidTransitionError } from '../../core/errors.js';
import { loadGridFile } from '../../core/grid/grid-index.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { freePort } from '../../core/util/free-port.js';
import { startTestRedis } from '../helpers/redis.js';
import {
  actors,
  cameras,
  finding,
  GRID,
  postCallback,
  recordingNotifier,
  startReceiver,
  waitFor,
  writeGridFile,
} from './fixtures.js';

/** The labels production stores and forwards: the plugin manifests' (as buildGateway reads them). */
const TYPES = new Map((await readPluginTypes({ pluginDirs: [] }, REPO_ROOT)).map((t) => [t.type, t]));
const PARKING_ZH = TYPES.get('illegal_parking')!.zh;

const SECRET = 'test-platform-secret-0123456789';
const logger = pino({ level: process.env.GW_TEST_LOG ?? 'silent' });

let redis: Awaited<ReturnType<typeof startTestRedis>>;
let dir: string;
let grids: GridIndex;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let receiverPort: number;
const open: { d: Dispatcher; server?: Server }[] = [];
let prefixN = 0;

beforeAll(async () => {
  redis = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'gw-dispatch-'));
  const loaded = await loadGridFile(await writeGridFile(dir));
  expect(loaded.issues).toEqual([]);
  grids = loaded.index;
  receiverPort = await freePort();
  receiver = await startReceiver(SECRET, receiverPort);
  process.env.GW_TEST_PLATFORM_SECRET = SECRET;
});

afterAll(async () => {
  await receiver.down();
  await redis.close();
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.d.close();
    if (o.server) {
      o.server.closeAllConnections();
      await new Promise((r) => o.server!.close(r));
    }
  }
  await receiver.up();
  receiver.raw.length = 0;
  receiver.accepted.length = 0;
  receiver.failNext = 0;
});

interface MakeOpts {
  prefix?: string;
  config?: Record<string, unknown>;
  targets?: Record<string, unknown>[];
  clock?: () => number;
  recheck?: RecheckProbe;
  workers?: boolean;
  notifier?: ReturnType<typeof recordingNotifier>;
  http?: boolean;
}

async function make(o: MakeOpts = {}) {
  const prefix = o.prefix ?? `t${++prefixN}`;
  const notifier = o.notifier ?? recordingNotifier();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const d = createDispatcher({
    config: DispatcherConfigSchema.parse({
      prefix,
      fallbackGridCode: GRID.township,
      lockDurationMs: 2_000,
      tickSec: 3_600,
      forwardBackoff: { baseMs: 100, maxMs: 400 },
      dedup: { default: { windowSec: 300, keys: ['camera', 'type', 'zone', 'track'] } },
      ...o.config,
    }),
    forwarding: (
      o.targets ?? [
        { id: 'city', url: receiver.url, secret: { env: 'GW_TEST_PLATFORM_SECRET' }, maxAttempts: 50 },
      ]
    ).map((t) => ForwardTargetSchema.parse(t)),
    redisUrl: redis.url,
    grids: () => grids,
    cameras: () => cameras(),
    typeInfo: (type) => TYPES.get(type),
    notifier,
    publicUrl: 'https://gridwatch.example.cn/',
    baseDir: dir,
    retention: { alertsDays: 180, evidenceDays: 30, evidenceMaxMb: 100 },
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.recheck ? { recheck: o.recheck } : {}),
    workers: o.workers ?? true,
    schedulers: false,
    logger,
    metrics,
  });
  const entry: { d: Dispatcher; server?: Server } = { d };
  open.push(entry);
  await d.start();
  let base = '';
  if (o.http) {
    const app = express();
    app.use('/api/platform', d.callbackRouter);
    const port = await freePort();
    entry.server = await new Promise<Server>((r) => {
      const s = app.listen(port, '127.0.0.1', () => r(s));
    });
    base = `http://127.0.0.1:${port}/api/platform`;
  }
  return { d, notifier, metrics, prefix, base };
}

const allAlerts = async (d: Dispatcher) => (await d.alerts.list({ scope: GRID.city, limit: 500 })).items;

async function confirmAlert(d: Dispatcher, f = finding()): Promise<Alert> {
  await d.sink.submit(f);
  const a = await waitFor('alert', async () =>
    (await allAlerts(d)).find((x) => x.trackIds.includes(f.trackIds[0]!) && x.cameraId === f.cameraId),
  );
  return d.alerts.act(a.id, { action: 'confirm', note: '核实属实' }, actors.zhang);
}

describe('queue and dedup', () => {
  it('the same finding delivered three times makes one alert; a later finding for the same vehicle updates it', async () => {
    const { d, notifier } = await make();
    const f = finding();
    await Promise.all([d.sink.submit(f), d.sink.submit(f), d.sink.submit(f)]);
    await waitFor('alert', async () => (await allAlerts(d)).length === 1);
    // Re-delivery after the job finished (job id gone from BullMQ): the seen-key still catches it.
    await d.engine.ingest(f);
    await d.sink.submit({
      ...f,
      id: `${f.id}:again`,
      lastSeen: f.lastSeen + 5_000,
      evidence: { first: f.evidence.first, latest: '2026-11-27/cam-a_3.jpg' },
    });
    const [a] = await waitFor('merge', async () => {
      const l = await allAlerts(d);
      return l.length === 1 && l[0]!.count === 2 ? l : null;
    });
    expect(a!.evidence).toEqual({ first: '2026-11-27/cam-a_1.jpg', latest: '2026-11-27/cam-a_3.jpg' });
    expect(a!.lastSeen).toBe(f.lastSeen + 5_000);
    expect(notifier.events.filter((e) => e.kind === 'new')).toHaveLength(1);
    const counts = await d.queues.findings.getJobCounts('completed', 'failed');
    expect(counts.failed).toBe(0);
  });

  it('another object outside the dedup window, or a finding for another zone, opens a new alert', async () => {
    const { d } = await make({
      config: { dedup: { illegal_parking: { windowSec: 60, keys: ['camera', 'type', 'zone'] } } },
    });
    const f = finding();
    await d.engine.ingest(f);
    const other = { x1: 0.6, y1: 0.6, x2: 0.8, y2: 0.8, label: 'car', score: 0.8, trackId: 't2' };
    await d.engine.ingest(
      finding({
        trackIds: ['t2'],
        boxes: [other],
        lastSeen: f.lastSeen + 61_000,
        firstSeen: f.lastSeen + 61_000,
      }),
    );
    await d.engine.ingest(finding({ zoneId: 'z-plain' }));
    expect(await allAlerts(d)).toHaveLength(3);
  });

  it('a payload that fails its schema is failed for good with the reason, and counted', async () => {
    const { d, metrics } = await make();
    await d.queues.findings.add('finding', { ...finding(), score: 7 }, { jobId: 'f.bad1', attempts: 5 });
    const job = await waitFor('failed job', async () => {
      // The state first, then a fresh read: a job read before the failure was recorded
      // still carries attemptsMade 0 (seen under load).
      if ((await d.queues.findings.getJobState('f.bad1')) !== 'failed') return null;
      return (await d.queues.findings.getJob('f.bad1')) ?? null;
    });
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/score: .*(<=|1)/);
    const m = await metrics.getSingleMetricAsString('gridwatch_dispatcher_jobs_failed_total');
    expect(m).toContain('gridwatch_dispatcher_jobs_failed_total{queue="findings",code="GW_VALIDATION"} 1');
    await expect(d.sink.submit({ ...finding(), score: 7 })).rejects.toMatchObject({
      code: 'GW_VALIDATION',
      field: 'score',
    });
  });
});

describe('sink batching (group commit)', () => {
  it('findings submitted together share jobs; each still makes its own alert exactly once', async () => {
    const { d } = await make({ prefix: 'tbatch', workers: false });
    const fs = Array.from({ length: 60 }, (_, i) => finding({ trackIds: [`g${i}`] }));
    // The third finding is submitted twice while it waits: it rides on one entry.
    await Promise.all([...fs.map((f) => d.sink.submit(f)), d.sink.submit(fs[2]!)]);
    const waiting = await d.queues.findings.getJobs(['wait']);
    const sizes = waiting.map((j) =>
      j.name === 'batch' ? (j.data as { findings: unknown[] }).findings.length : 1,
    );
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
    expect(waiting.length).toBeLessThan(60);
    expect(waiting.some((j) => j.name === 'batch')).toBe(true);
    // Another dispatcher instance on the same Redis does the work.
    const { d: w } = await make({ prefix: 'tbatch' });
    await waitFor('alerts', async () => (await allAlerts(w)).length === 60);
    const done = await waitFor('completed', async () => {
      const c = await w.queues.findings.getJobs(['completed']);
      return c.length === waiting.length ? c : null;
    });
    const outcomes: Record<string, number> = {};
    for (const j of done) {
      const r: Record<string, number> =
        j.name === 'batch'
          ? (JSON.parse(j.returnvalue as string) as Record<string, number>)
          : { [j.returnvalue as string]: 1 };
      for (const [k, v] of Object.entries(r)) outcomes[k] = (outcomes[k] ?? 0) + v;
    }
    expect(outcomes).toEqual({ new: 60 });
    expect((await allAlerts(w)).every((a) => a.count === 1)).toBe(true);
  });

  it('a bad finding in a batch fails for good on its own, counted once; the rest go through; a re-run batch doubles nothing', async () => {
    const { d, metrics } = await make({ config: { fallbackGridCode: undefined } });
    const good = [finding({ trackIds: ['b1'] }), finding({ trackIds: ['b2'] })];
    const bad = { ...finding({ trackIds: ['b3'] }), id: 'det-batch-bad-0001', score: 7 };
    const lost = finding({ id: 'det-batch-nocam-0001', cameraId: 'nope' });
    const batch = { findings: [good[0], bad, lost, good[1]] };
    const job = await d.queues.findings.add('batch', batch, { attempts: 5 });
    await waitFor('batch done', async () => (await job.getState()) === 'completed');
    const done = await d.queues.findings.getJob(job.id!);
    expect(JSON.parse(done!.returnvalue as string)).toEqual({ new: 2, failed: 1 });
    const badJob = await waitFor('bad failed', async () => {
      const j = await d.queues.findings.getJob('f.det-batch-bad-0001');
      return j && (await j.getState()) === 'failed' ? j : null;
    });
    expect(badJob.failedReason).toMatch(/score: .*(<=|1)/);
    const lostJob = await waitFor('unknown camera failed', async () => {
      const j = await d.queues.findings.getJob('f.det-batch-nocam-0001');
      return j && (await j.getState()) === 'failed' ? j : null;
    });
    expect(lostJob.failedReason).toContain('camera nope is not configured');
    const m = await metrics.getSingleMetricAsString('gridwatch_dispatcher_jobs_failed_total');
    expect(m).toContain('{queue="findings",code="GW_VALIDATION"} 1');
    expect(m).toContain('{queue="findings",code="GW_UNKNOWN_CAMERA"} 1');
    // The same batch delivered again (as after a crash): the seen-set skips what was applied.
    const again = await d.queues.findings.add('batch', batch, { attempts: 5 });
    await waitFor('again done', async () => (await again.getState()) === 'completed');
    const second = await d.queues.findings.getJob(again.id!);
    expect(JSON.parse(second!.returnvalue as string)).toEqual({ duplicate: 2, failed: 1 });
    const alerts = await allAlerts(d);
    expect(alerts.filter((a) => a.trackIds.some((t) => t === 'b1' || t === 'b2'))).toHaveLength(2);
    expect(alerts.every((a) => a.count === 1)).toBe(true);
    expect(await metrics.getSingleMetricAsString('gridwatch_dispatcher_jobs_failed_total')).toContain(
      '{queue="findings",code="GW_UNKNOWN_CAMERA"} 1',
    );
  });
});

describe('routing', () => {
  it('routes by zone, then camera, then location, then fallback, with every ancestor', async () => {
    const { d, metrics } = await make();
    const byZone = await d.engine.ingest(finding({ trackIds: ['r1'] }));
    const byCam = await d.engine.ingest(
      finding({ zoneId: 'z-plain', type: 'street_vending', trackIds: ['r2'] }),
    );
    const byLoc = await d.engine.ingest(finding({ cameraId: 'cam-loc', zoneId: null, trackIds: ['r3'] }));
    const fb = await d.engine.ingest(finding({ cameraId: 'cam-out', zoneId: null, trackIds: ['r4'] }));
    expect([byZone.alert?.routedBy, byZone.alert?.gridCode]).toEqual(['zone', GRID.gridB]);
    expect(byZone.alert?.gridPath.map((g) => g.code)).toEqual([
      GRID.city,
      GRID.county,
      GRID.township,
      GRID.community,
      GRID.gridB,
    ]);
    expect(byZone.alert?.gridPath.map((g) => g.level)).toEqual([
      'city',
      'county',
      'township',
      'community',
      'grid',
    ]);
    expect(byZone.alert?.typeLabel.zh).toBe(PARKING_ZH);
    expect([byCam.alert?.routedBy, byCam.alert?.gridCode]).toEqual(['camera', GRID.gridA]);
    expect(byCam.alert?.typeLabel.zh).toBe(TYPES.get('street_vending')!.zh);
    expect([byLoc.alert?.routedBy, byLoc.alert?.gridCode]).toEqual(['location', GRID.gridC]);
    expect([fb.alert?.routedBy, fb.alert?.gridCode]).toEqual(['fallback', GRID.township]);
    expect(await metrics.getSingleMetricAsString('gridwatch_dispatcher_fallback_routed_total')).toContain(
      'camera="cam-out"} 1',
    );
    expect(await d.unrouted()).toEqual([
      {
        cameraId: 'cam-out',
        at: expect.any(Number),
        reasons: ['camera location 116.4,39.9 is outside every grid'],
      },
    ]);
    // The wall's subtree queries see each alert in its own grid and every ancestor.
    expect((await d.alerts.list({ scope: GRID.city, gridCode: GRID.gridB, limit: 10 })).total).toBe(1);
    expect((await d.alerts.list({ scope: GRID.community, limit: 10 })).total).toBe(2);
    expect((await d.alerts.list({ scope: GRID.township, limit: 10 })).total).toBe(4);
  });

  it('labels a type no manifest defines with its code', async () => {
    const { d } = await make();
    const r = await d.engine.ingest(finding({ zoneId: 'z-plain', type: 'no_such_type', trackIds: ['r5'] }));
    expect(r.alert?.typeLabel).toMatchObject({ zh: 'no_such_type', en: 'no_such_type' });
  });

  it('an unknown camera, or an unroutable one without fallback, fails the finding for good with the reason', async () => {
    const { d } = await make({ config: { fallbackGridCode: undefined } });
    await expect(d.engine.ingest(finding({ cameraId: 'nope' }))).rejects.toMatchObject({
      code: 'GW_UNKNOWN_CAMERA',
    });
    await expect(d.engine.ingest(finding({ cameraId: 'cam-out', zoneId: null }))).rejects.toThrow(
      /camera cam-out \(\/cfg\/cameras\/test.yaml:40\) cannot be routed: .*outside every grid.*fallbackGridCode/,
    );
    await d.sink.submit(finding({ id: 'det-unroutable-0001', cameraId: 'cam-out', zoneId: null }));
    const job = await waitFor('failed', async () => {
      const j = await d.queues.findings.getJob('f.det-unroutable-0001');
      return j && (await j.getState()) === 'failed' ? j : null;
    });
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain('cannot be routed');
  });
});

describe('lifecycle', () => {
  it('concurrent confirm from two dispatcher instances: exactly one wins, the other is told who', async () => {
    const one = await make({ workers: false });
    const two = await make({ prefix: one.prefix, workers: false, notifier: recordingNotifier() });
    for (let i = 0; i < 5; i++) {
      const { alert } = await one.d.engine.ingest(
        finding({ trackIds: [`race${i}`], zoneId: 'z-plain', type: 'street_vending' }),
      );
      const results = await Promise.allSettled([
        one.d.alerts.act(alert!.id, { action: 'confirm' }, actors.zhang),
        two.d.alerts.act(alert!.id, { action: 'confirm' }, actors.li),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const err = lost[0]!.reason as ConflictError;
      expect(err).toBeInstanceOf(ConflictError);
      const winner = (won[0] as PromiseFulfilledResult<Alert>).value.decidedBy!;
      expect(err.details?.by).toEqual({ username: winner.username, displayName: winner.displayName });
      expect(err.message).toContain(`already confirmed by ${winner.displayName}`);
      const audit = await one.d.alerts.audit(alert!.id, actors.admin);
      expect(audit.filter((e) => e.action === 'confirm')).toHaveLength(1);
    }
  });

  it('refuses invalid transitions, other operators’ claims, viewers and out-of-scope operators', async () => {
    const { d } = await make({ workers: false });
    const { alert } = await d.engine.ingest(finding({ trackIds: ['inv'] }));
    const id = alert!.id;
    await d.alerts.act(id, { action: 'claim' }, actors.zhang);
    await expect(d.alerts.act(id, { action: 'claim' }, actors.li)).rejects.toMatchObject({
      code: 'GW_CONFLICT',
      details: { by: { username: 'zhangsan', displayName: '张三' } },
    });
    await expect(d.alerts.act(id, { action: 'confirm' }, actors.li)).rejects.toBeInstanceOf(ConflictError);
    await expect(d.alerts.act(id, { action: 'confirm' }, actors.viewer)).rejects.toMatchObject({
      code: 'GW_FORBIDDEN',
    });
    await expect(d.alerts.act(id, { action: 'confirm' }, actors.outsider)).rejects.toMatchObject({
      code: 'GW_NOT_FOUND',
    });
    await d.alerts.act(id, { action: 'reject', reason: 'not_violation', note: '临时停靠' }, actors.zhang);
    const err = await d.alerts.act(id, { action: 'confirm' }, actors.zhang).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidTransitionError);
    expect((err as GridwatchError).message).toBe(`alert ${id} is rejected: cannot confirm`);
    const a = await d.alerts.get(id, actors.admin);
    expect([a.state, a.rejectReason, a.version]).toEqual(['rejected', 'not_violation', 3]);
  });

  it('escalates unclaimed alerts on time (controlled clock), one level at a time, and not claimed ones', async () => {
    let now = Date.now();
    const { d, notifier } = await make({
      workers: false,
      clock: () => now,
      config: { escalateAfterSec: { default: 600 } },
    });
    const { alert } = await d.engine.ingest(finding({ trackIds: ['esc'] }));
    const { alert: claimed } = await d.engine.ingest(
      finding({ trackIds: ['esc2'], zoneId: 'z-plain', type: 'street_vending' }),
    );
    await d.alerts.act(claimed!.id, { action: 'claim' }, actors.zhang);
    now += 599_000;
    expect((await d.tick(now)).escalated).toBe(0);
    now += 2_000;
    expect((await d.tick(now)).escalated).toBe(1);
    let a = await d.alerts.get(alert!.id, actors.admin);
    expect([a.state, a.escalationLevel]).toEqual(['escalated', 1]);
    expect((await d.alerts.get(claimed!.id, actors.admin)).state).toBe('claimed');
    const audit = await d.alerts.audit(alert!.id, actors.admin);
    expect(audit.at(-1)).toMatchObject({
      actor: 'system:escalation',
      action: 'escalate',
      from: 'new',
      to: 'escalated',
    });
    expect(audit.at(-1)?.note).toContain(`大新社区 (${GRID.community})`);
    now += 601_000;
    await d.tick(now);
    a = await d.alerts.get(alert!.id, actors.admin);
    expect(a.escalationLevel).toBe(2);
    await waitFor('relayed escalation', async () =>
      notifier.events.some((e) => e.alert.id === alert!.id && e.alert.escalationLevel === 2),
    );
  });

  it('a full lifecycle through the platform reads back complete and in order', async () => {
    let probeResult = {
      present: true,
      score: 0.9,
      evidence: '2026-11-28/cam-a_recheck.jpg' as string | null,
    };
    const { d, base } = await make({
      http: true,
      config: { recheck: { illegal_parking: { delaySec: 0.2, autoClose: true } } },
      recheck: { check: async () => probeResult },
    });
    const f = finding({ trackIds: ['life'] });
    await d.sink.submit(f);
    const created = await waitFor('alert', async () =>
      (await allAlerts(d)).find((x) => x.trackIds.includes('life')),
    );
    await d.alerts.act(created.id, { action: 'claim' }, actors.zhang);
    await d.alerts.act(created.id, { action: 'note', note: '已调取周边视频' }, actors.zhang);
    await d.alerts.act(created.id, { action: 'confirm', note: '核实属实' }, actors.zhang);
    const fwd = await waitFor('forwarded', async () => {
      const a = await d.alerts.get(created.id, actors.admin);
      return a.state === 'forwarded' ? a : null;
    });
    expect(fwd.caseId).toMatch(/^SZ-CASE-/);
    const sent = receiver.accepted.find((x) => x.body.alertId === created.id)!;
    expect(sent.body).toMatchObject({
      schema: 'gridwatch.case/1',
      kind: 'case.create',
      seq: 1,
      type: { code: 'illegal_parking', zh: PARKING_ZH },
      grid: { code: GRID.gridB },
      camera: { id: 'cam-a', name: '南新路与大新路交叉口东', deviceId: '44030500001320000001' },
      location: { crs: 'GCJ02' },
      confirmedBy: { username: 'zhangsan', displayName: '张三' },
      evidence: [
        {
          role: 'first',
          url: expect.stringMatching(
            /^https:\/\/gridwatch\.example\.cn\/evidence\/2026-11-27\/cam-a_1\.jpg\?t=[\w-]+&exp=\d+&sig=[0-9a-f]{64}$/,
          ),
        },
        {
          role: 'latest',
          url: expect.stringMatching(
            /^https:\/\/gridwatch\.example\.cn\/evidence\/2026-11-27\/cam-a_2\.jpg\?/,
          ),
        },
      ],
    });
    // GCJ-02 is offset from WGS84 by a few hundred metres in Shenzhen; WGS84 would mean no conversion.
    const loc = sent.body.location as { lon: number; lat: number };
    expect(Math.abs(loc.lon - 113.905)).toBeGreaterThan(0.003);
    expect(sent.key).toMatch(new RegExp(`^gw-[0-9a-f]{12}:${created.id}:1$`));

    const cb = (status: string, extra: Record<string, unknown> = {}) =>
      postCallback(base, { caseId: fwd.caseId, status, ...extra }, { secret: SECRET });
    expect((await cb('dispatched', { handler: '南头街道城管中队' })).status).toBe(200);
    expect((await cb('dispatched')).json).toMatchObject({ ok: true, changed: false });
    expect((await cb('handled')).status).toBe(200);
    // 二次识别 sees the car still there: the alert reopens and the platform gets message 2, after 1.
    await waitFor('reopen', async () =>
      receiver.accepted.some((x) => x.body.alertId === created.id && x.body.seq === 2),
    );
    const reopened = await waitFor('forwarded again', async () => {
      const a = await d.alerts.get(created.id, actors.admin);
      return a.state === 'forwarded' && a.recheck ? a : null;
    });
    expect(reopened.evidence.latest).toBe('2026-11-28/cam-a_recheck.jpg');
    const seqs = receiver.accepted.filter((x) => x.body.alertId === created.id).map((x) => x.body.seq);
    expect(seqs).toEqual([1, 2]);
    // Second time round the violation is gone: the type closes itself.
    probeResult = { present: false, score: 0.1, evidence: null };
    expect((await cb('handled')).status).toBe(200);
    const closed = await waitFor('closed', async () => {
      const a = await d.alerts.get(created.id, actors.admin);
      return a.state === 'closed' ? a : null;
    });
    expect(closed.recheck).toMatchObject({ present: false, round: 2 });
    expect((await cb('verified')).status).toBe(409);

    const audit = await d.alerts.audit(created.id, actors.zhang);
    expect(audit.map((e) => [e.action, e.from, e.to])).toEqual([
      ['create', null, 'new'],
      ['claim', 'new', 'claimed'],
      ['note', 'claimed', 'claimed'],
      ['confirm', 'claimed', 'confirmed'],
      ['forward', 'confirmed', 'forwarded'],
      ['dispatched', 'forwarded', 'dispatched'],
      ['handled', 'dispatched', 'handled'],
      ['reopen', 'handled', 'confirmed'],
      ['forward', 'confirmed', 'forwarded'],
      ['handled', 'forwarded', 'handled'],
      ['recheck_close', 'handled', 'closed'],
    ]);
    expect(audit.map((e) => e.actor)).toEqual([
      'system:dispatcher',
      'zhangsan',
      'zhangsan',
      'zhangsan',
      'system:forwarder',
      'platform:city',
      'platform:city',
      'system:recheck',
      'system:forwarder',
      'platform:city',
      'system:recheck',
    ]);
    for (let i = 1; i < audit.length; i++) expect(audit[i]!.at).toBeGreaterThanOrEqual(audit[i - 1]!.at);
    expect(audit[5]!.note).toContain('南头街道城管中队');
  });
});

describe('forwarding', () => {
  it('receiver down for a while, then back: every confirmed case arrives exactly once', async () => {
    await receiver.down();
    const { d } = await make({ workers: true });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await confirmAlert(d, finding({ trackIds: [`down${i}`] }))).id);
    // Attempts are failing against the closed port meanwhile.
    await waitFor('retries', async () => {
      const jobs = await d.queues.forward.getJobs(['delayed', 'wait', 'active']);
      return jobs.length === 8 && jobs.some((j) => j.attemptsMade >= 2);
    });
    expect(receiver.raw).toHaveLength(0);
    await receiver.up();
    await waitFor('all forwarded', async () =>
      (await Promise.all(ids.map((id) => d.alerts.get(id, actors.admin)))).every(
        (a) => a.state === 'forwarded',
      ),
    );
    expect(receiver.raw.map((x) => x.body.alertId).sort()).toEqual([...ids].sort());
    expect(receiver.accepted).toHaveLength(8);
    // Run the outbox and re-queue everything again: acknowledged cases are never re-sent.
    for (const id of ids)
      await d.queues.forward.add(
        'case.create',
        { alertId: id, targetId: 'city', seq: 1, kind: 'case.create' },
        { jobId: `again.${id}` },
      );
    await waitFor('drained', async () => {
      const c = await d.queues.forward.getJobCounts('wait', 'active', 'delayed');
      return (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.raw).toHaveLength(8);
  });

  it('a case that keeps failing goes to the dead-letter list; an admin retries it', async () => {
    const deadPort = await freePort();
    const { d } = await make({
      targets: [
        {
          id: 'city',
          url: `http://127.0.0.1:${deadPort}/intake`,
          secret: { env: 'GW_TEST_PLATFORM_SECRET' },
          maxAttempts: 3,
        },
      ],
    });
    const a = await confirmAlert(d, finding({ trackIds: ['dead'] }));
    const [dl] = await waitFor('dead letter', async () => {
      const l = await d.alerts.deadLetters();
      return l.length ? l : null;
    });
    expect(dl).toMatchObject({ alertId: a.id, target: 'city', attempts: 3 });
    expect(dl!.lastError).toMatch(/ECONNREFUSED|fetch failed/);
    expect((await d.alerts.get(a.id, actors.admin)).state).toBe('confirmed');
    const audit = await d.alerts.audit(a.id, actors.admin);
    expect(audit.at(-1)).toMatchObject({ action: 'forward_failed', actor: 'system:forwarder' });
    await expect(d.alerts.retryDeadLetter(dl!.id, actors.zhang)).rejects.toMatchObject({
      code: 'GW_FORBIDDEN',
    });
    await d.alerts.retryDeadLetter(dl!.id, actors.admin);
    expect(await d.alerts.deadLetters()).toEqual([]);
  });

  it('a 4xx from the platform is a permanent refusal: dead letter at once, no retries', async () => {
    process.env.GW_TEST_WRONG_SECRET = 'not-the-platform-secret';
    const { d } = await make({
      targets: [{ id: 'city', url: receiver.url, secret: { env: 'GW_TEST_WRONG_SECRET' }, maxAttempts: 10 }],
    });
    const before = receiver.badSignatures;
    const a = await confirmAlert(d, finding({ trackIds: ['4xx'] }));
    const [dl] = await waitFor('dead letter', async () => {
      const l = await d.alerts.deadLetters();
      return l.length ? l : null;
    });
    expect(dl).toMatchObject({ alertId: a.id, attempts: 1 });
    expect(dl!.lastError).toContain('HTTP 401');
    expect(receiver.badSignatures).toBe(before + 1);
    expect(receiver.raw).toHaveLength(0);
  });

  it('forged callbacks (bad signature, stale timestamp, unknown alert, unknown target) are refused and change nothing', async () => {
    const { d, base } = await make({ http: true });
    const a = await confirmAlert(d, finding({ trackIds: ['forge'] }));
    const fwd = await waitFor('forwarded', async () => {
      const x = await d.alerts.get(a.id, actors.admin);
      return x.state === 'forwarded' ? x : null;
    });
    const body = { alertId: a.id, status: 'closed' };
    const tampered = await postCallback(base, body, { secret: SECRET, tamper: true });
    expect(tampered.status).toBe(401);
    expect(JSON.stringify(tampered.json)).toContain('bad signature');
    const wrongKey = await postCallback(base, body, { secret: 'guess' });
    expect(wrongKey.status).toBe(401);
    const stale = await postCallback(base, body, {
      secret: SECRET,
      ts: Math.floor(Date.now() / 1000) - 3_600,
    });
    expect(stale.status).toBe(401);
    expect(JSON.stringify(stale.json)).toContain('stale timestamp');
    const unknown = await postCallback(
      base,
      { alertId: 'A20990101-0000001', status: 'closed' },
      { secret: SECRET },
    );
    expect(unknown.status).toBe(404);
    const unknownTarget = await postCallback(base, body, { secret: SECRET, target: 'other' });
    expect(unknownTarget.status).toBe(401);
    const badBody = await postCallback(base, { alertId: a.id, status: 'teleported' }, { secret: SECRET });
    expect(badBody.status).toBe(400);
    expect(badBody.json).toMatchObject({ ok: false, error: { code: 'GW_VALIDATION', field: 'status' } });
    // An alert never confirmed is unknown to the platform even with a valid signature.
    const { alert: fresh } = await d.engine.ingest(
      finding({ trackIds: ['never'], zoneId: 'z-plain', type: 'street_vending' }),
    );
    expect(
      (await postCallback(base, { alertId: fresh!.id, status: 'closed' }, { secret: SECRET })).status,
    ).toBe(404);
    const after = await d.alerts.get(a.id, actors.admin);
    expect([after.state, after.version]).toEqual([fwd.state, fwd.version]);
    expect((await d.alerts.audit(a.id, actors.admin)).map((e) => e.action)).toEqual([
      'create',
      'confirm',
      'forward',
    ]);
    const ok = await postCallback(base, body, { secret: SECRET });
    expect(ok).toMatchObject({ status: 200, json: { ok: true, changed: true, state: 'closed' } });
  });
});

describe('feedback and history', () => {
  it('K rejections on one zone suppress the rule there, visibly, until an admin lifts it', async () => {
    const { d, notifier } = await make({
      workers: false,
      config: { feedback: { rejections: 3, windowSec: 3_600, action: 'suppress' } },
    });
    const seen: number[] = [];
    d.onSuppressions((list) => seen.push(list.length));
    for (let i = 0; i < 3; i++) {
      // A new vehicle each time (its condition begins after the last one was rejected).
      const at = Date.now() + i * 400_000;
      const { alert } = await d.engine.ingest(
        finding({ trackIds: [`fb${i}`], firstSeen: at - 60_000, lastSeen: at }),
      );
      await d.alerts.act(
        alert!.id,
        { action: 'reject', reason: i === 0 ? 'duplicate' : 'false_detection' },
        actors.zhang,
      );
    }
    expect(await d.alerts.suppressions()).toEqual([]);
    const { alert } = await d.engine.ingest(
      finding({
        trackIds: ['fb3'],
        firstSeen: Date.now() + 2_000_000 - 60_000,
        lastSeen: Date.now() + 2_000_000,
      }),
    );
    await d.alerts.act(alert!.id, { action: 'reject', reason: 'not_violation' }, actors.li);
    const [s] = await d.alerts.suppressions();
    expect(s).toMatchObject({
      cameraId: 'cam-a',
      zoneId: 'z-noparking',
      type: 'illegal_parking',
      action: 'suppress',
      rejections: 3,
    });
    await waitFor('wall told', async () =>
      notifier.suppressions.some((x) => x.kind === 'new' && x.s.id === s!.id),
    );
    expect(seen.at(-1)).toBe(1);
    expect(
      (
        await d.engine.ingest(
          finding({
            trackIds: ['fb4'],
            firstSeen: Date.now() + 3_000_000 - 60_000,
            lastSeen: Date.now() + 3_000_000,
          }),
        )
      ).kind,
    ).toBe('suppressed');
    expect((await d.engine.ingest(finding({ trackIds: ['fb5'], zoneId: 'z-plain' }))).kind).toBe('new');
    await expect(d.alerts.liftSuppression(s!.id, actors.zhang)).rejects.toMatchObject({
      code: 'GW_FORBIDDEN',
    });
    await d.alerts.liftSuppression(s!.id, actors.admin);
    expect(await d.alerts.suppressions()).toEqual([]);
    await waitFor('lifted', async () => notifier.suppressions.some((x) => x.kind === 'lifted'));
    expect(
      (
        await d.engine.ingest(
          finding({
            trackIds: ['fb6'],
            firstSeen: Date.now() + 4_000_000 - 60_000,
            lastSeen: Date.now() + 4_000_000,
          }),
        )
      ).kind,
    ).toBe('new');
  });

  it('history query: scope, filters, time range and paging without gaps or repeats', async () => {
    let now = Date.UTC(2026, 10, 1);
    const { d } = await make({ workers: false, clock: () => now });
    const made: Alert[] = [];
    for (let i = 0; i < 23; i++) {
      now += i % 3 === 0 ? 0 : 1_000; // some alerts share a timestamp: the cursor must handle ties
      const f =
        i % 2 === 0
          ? finding({ trackIds: [`h${i}`], placeKey: `p${i}` })
          : finding({ trackIds: [`h${i}`], zoneId: 'z-plain', type: 'street_vending' });
      const r = await d.engine.ingest({ ...f, lastSeen: f.lastSeen + i * 1_000_000 });
      made.push(r.alert!);
    }
    await d.alerts.act(made[0]!.id, { action: 'reject', reason: 'other' }, actors.zhang);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const p = await d.alerts.list({ scope: GRID.city, limit: 5, ...(cursor ? { cursor } : {}) });
      expect(p.total).toBe(23);
      seen.push(...p.items.map((a) => a.id));
      cursor = p.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);
    const created = new Map(made.map((a) => [a.id, a.createdAt]));
    for (let i = 1; i < seen.length; i++)
      expect(created.get(seen[i]!)!).toBeLessThanOrEqual(created.get(seen[i - 1]!)!);
    expect((await d.alerts.list({ scope: GRID.city, types: ['street_vending'], limit: 100 })).total).toBe(11);
    expect(
      (await d.alerts.list({ scope: GRID.city, states: ['rejected'], limit: 100 })).items.map((a) => a.id),
    ).toEqual([made[0]!.id]);
    expect((await d.alerts.list({ scope: GRID.city, from: made[20]!.createdAt, limit: 100 })).total).toBe(3);
    expect((await d.alerts.list({ scope: GRID.gridB, limit: 100 })).total).toBe(12);
    expect((await d.alerts.list({ scope: GRID.city, text: '人行道', limit: 100 })).total).toBe(11);
    await expect(d.alerts.list({ scope: GRID.city, limit: 5, cursor: 'garbage' })).rejects.toMatchObject({
      code: 'GW_VALIDATION',
      field: 'cursor',
    });
    await expect(d.alerts.list({ scope: 'abc', limit: 5 })).rejects.toMatchObject({
      code: 'GW_VALIDATION',
      field: 'scope',
    });
  });
});

describe('retention', () => {
  it('deletes closed and rejected alerts past the limit with their audit and index entries, keeps open ones', async () => {
    let now = Date.now();
    const { d } = await make({ workers: false, clock: () => now });
    const { alert: old } = await d.engine.ingest(finding({ trackIds: ['ret1'] }));
    const { alert: openOne } = await d.engine.ingest(finding({ trackIds: ['ret2'] }));
    await d.alerts.act(old!.id, { action: 'reject', reason: 'other' }, actors.zhang);
    now += 181 * 86_400_000;
    await d.sweep(now);
    await expect(d.alerts.get(old!.id, actors.admin)).rejects.toMatchObject({ code: 'GW_NOT_FOUND' });
    expect((await d.alerts.get(openOne!.id, actors.admin)).state).toBe('new');
    const page = await d.alerts.list({ scope: GRID.city, limit: 10 });
    expect(page.items.map((a) => a.id)).toEqual([openOne!.id]);
    expect(page.total).toBe(1);
  });

  it('evidence: days past the limit go, then the oldest files until under the size cap', async () => {
    const { sweepEvidence } = await import('../../features/dispatcher/retention.js');
    const { createEvidenceStore } = await import('../../core/evidence/evidence-store.js');
    const { readdir, utimes } = await import('node:fs/promises');
    const store = createEvidenceStore({ dir: join(dir, 'evidence'), timeZone: 'Asia/Shanghai' });
    const day = 86_400_000;
    const now = Date.UTC(2026, 10, 27, 4);
    const jpeg = Buffer.alloc(300 * 1024, 0xff);
    await store.put('ancient', jpeg, now - 40 * day);
    const kept: string[] = [];
    for (let i = 0; i < 6; i++) {
      const rel = await store.put(`cam-a_${i}`, jpeg, now - (5 - i) * day);
      await utimes(store.resolve(rel), (now - (5 - i) * day) / 1000, (now - (5 - i) * day) / 1000);
      kept.push(rel);
    }
    const r = await sweepEvidence({
      dir: store.dir,
      now,
      evidenceDays: 30,
      evidenceMaxMb: 1,
      timeZone: 'Asia/Shanghai',
      logger,
    });
    // The 40-day-old folder by age; 6 × 300 KiB over a 1 MiB cap: the three oldest files (and their emptied days).
    expect(r.daysRemoved).toBe(4);
    expect(r.filesRemoved).toBe(3);
    expect(r.bytes).toBeLessThanOrEqual(1024 * 1024);
    const left = (await readdir(store.dir)).sort();
    expect(left).not.toContain(kept[0]!.slice(0, 10));
    await expect(store.read(kept[5]!)).resolves.toHaveLength(300 * 1024);
    await expect(store.read(kept[0]!)).rejects.toThrow();
  });
});
