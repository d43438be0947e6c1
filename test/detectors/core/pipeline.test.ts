import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDetectionPipeline,
  matchRecheck,
} from '../../../features/detectors/pipeline/detection-pipeline.js';
import type { AnalyzeResult } from '../../../features/detectors/pipeline/analyze-video.js';
import { AlertSchema, type Alert } from '../../../core/contracts/alert.js';
import type { Suppression } from '../../../core/contracts/alert-service.js';
import { FindingSchema, type Finding } from '../../../core/contracts/finding.js';
import { createEvidenceStore } from '../../../core/evidence/evidence-store.js';
import { mediaPath } from '../../helpers/media.js';
import { createRig, type Rig } from '../footage/setup.js';
import { camera, decodeFrames } from './helpers.js';

const VAN_ZONE: Array<[number, number]> = [
  [0.82, 0.05],
  [0.945, 0.05],
  [0.945, 0.21],
  [0.82, 0.21],
];
const cam = camera({
  id: 'cam-van',
  samplingIntervalSec: 1,
  detectors: [{ rule: 'illegal_parking', options: { dwellSec: 10 } }],
  zones: [{ id: 'van-bay', name: '面包车禁停区', polygon: VAN_ZONE, rules: ['illegal_parking'] }],
});
const sup = (s: Partial<Suppression>): Suppression => ({
  id: 's1',
  cameraId: 'cam-van',
  zoneId: 'van-bay',
  type: 'illegal_parking',
  action: 'suppress',
  dwellFactor: 1,
  rejections: 3,
  createdAt: 0,
  ...s,
});

describe('detection pipeline on vtest.avi (van zone, 10 s dwell)', () => {
  let rig: Rig;
  let base: AnalyzeResult;
  const submitted: Finding[] = [];
  let refusals = 0;
  beforeAll(async () => {
    rig = await createRig();
    base = await rig.analyze(mediaPath('vtest.avi'), cam, {
      maxSec: 45,
      refreshSec: 20,
      findingSink: {
        submit(f) {
          // The sink refuses the very first finding once (Redis hiccup): it must come again.
          if (submitted.length === 0 && refusals === 0) {
            refusals++;
            return Promise.reject(new Error('queue unavailable'));
          }
          submitted.push(f);
          return Promise.resolve();
        },
      },
    });
  }, 300_000);
  afterAll(async () => {
    await rig.close();
  });

  it('submits valid findings: the first, then a refresh with a new id, the same key and the first evidence', () => {
    expect(refusals).toBe(1);
    expect(submitted.length).toBeGreaterThanOrEqual(2);
    for (const f of submitted) expect(FindingSchema.safeParse(f).success).toBe(true);
    const [first, refresh] = submitted as [Finding, Finding];
    expect(first.id).toMatch(/^cam-van:illegal_parking:[0-9a-f]{12}:\d+$/);
    expect(refresh.id).toBe(`${first.id}:u${refresh.lastSeen}`);
    expect(refresh.placeKey).toBe(first.placeKey);
    expect(refresh.trackIds).toEqual(first.trackIds);
    expect(refresh.evidence.first).toBe(first.evidence.first);
    expect(refresh.evidence.latest).not.toBe(first.evidence.latest);
    expect(refresh.lastSeen - first.lastSeen).toBeGreaterThanOrEqual(20_000);
    expect(first.detector).toEqual({ plugin: 'illegal_parking', version: '1.0.0' });
    // The refused first submission came again on the next sample, with the same id.
    expect(first.lastSeen - first.firstSeen).toBeGreaterThanOrEqual(11_000);
  });

  it('drops emissions of a suppressed camera+zone+type', async () => {
    const r = await rig.analyze(mediaPath('vtest.avi'), cam, { maxSec: 30, suppressions: [sup({})] });
    expect(r.findings).toEqual([]);
    // The rule still fired; only the findings were held back.
    expect(r.events.filter((e) => e.type === 'illegal_parking')).toHaveLength(1);
  }, 180_000);

  it('a suppression without a zone covers every zone of the camera; one for another zone does not', async () => {
    const wide = await rig.analyze(mediaPath('vtest.avi'), cam, {
      maxSec: 20,
      suppressions: [sup({ zoneId: null })],
    });
    expect(wide.findings).toEqual([]);
    const elsewhere = await rig.analyze(mediaPath('vtest.avi'), cam, {
      maxSec: 20,
      suppressions: [sup({ zoneId: 'another-bay' })],
    });
    expect(elsewhere.findings.length).toBeGreaterThan(0);
  }, 240_000);

  it('lengthens the dwell by the raise_dwell factor', async () => {
    const r = await rig.analyze(mediaPath('vtest.avi'), cam, {
      maxSec: 30,
      suppressions: [sup({ action: 'raise_dwell', dwellFactor: 2 })],
    });
    expect(base.events[0]!.raisedAt).toBeLessThan(15);
    expect(r.events[0]!.raisedAt).toBeGreaterThanOrEqual(20);
  }, 180_000);

  it('recheck (二次识别) finds the van still at its box, and nothing where the lawn is', async () => {
    const f = submitted[0]!;
    const alert: Alert = AlertSchema.parse({
      id: 'a1',
      state: 'new',
      type: f.type,
      typeLabel: { zh: '违章停车', en: 'Illegal parking' },
      cameraId: 'cam-van',
      cameraName: 'x',
      zoneId: 'van-bay',
      zoneName: 'x',
      gridCode: '330106',
      gridPath: [],
      routedBy: 'zone',
      location: { lon: 120, lat: 30 },
      score: f.score,
      count: 1,
      trackIds: f.trackIds,
      boxes: f.boxes,
      firstSeen: f.firstSeen,
      lastSeen: f.lastSeen,
      createdAt: 0,
      updatedAt: 0,
      evidence: f.evidence,
      claimedBy: null,
      escalationLevel: 0,
      rejectReason: null,
      caseId: null,
      version: 1,
    });
    const pipeline = createDetectionPipeline({
      config: rig.config,
      plugins: rig.plugins,
      pool: rig.pool,
      evidence: createEvidenceStore({ dir: rig.evidenceDir }),
      findingSink: { submit: () => Promise.resolve() },
      timeZone: 'Asia/Shanghai',
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
    });
    const [rgb] = decodeFrames(mediaPath('vtest.avi'), [60], 512, 512);
    const frame = {
      cameraId: 'cam-van',
      seq: 0,
      capturedAt: Date.now(),
      width: 512,
      height: 512,
      rgb: rgb!,
      jpeg: new Uint8Array(0),
      jpegWidth: 768,
      jpegHeight: 576,
    };
    const there = await pipeline.recheck(frame, alert);
    expect(there.present).toBe(true);
    expect(there.score).toBeGreaterThan(0.2);
    const lawn = { ...alert, boxes: alert.boxes.map((b) => ({ ...b, x1: 0.1, x2: 0.2, y1: 0.8, y2: 0.9 })) };
    expect(await pipeline.recheck(frame, lawn)).toEqual({ present: false, score: 0 });
    expect(pipeline.typeInfos().map((t) => t.type)).toContain('illegal_parking');
    expect(pipeline.health().pool.backend).toBe('wasm');
    await pipeline.close();
    await pipeline.close();
    await expect(pipeline.recheck(frame, alert)).rejects.toThrow(/closed/);
  }, 60_000);

  it('matchRecheck counts a jittered box of the same class family and ignores other classes', () => {
    const box = { x1: 0.5, y1: 0.5, x2: 0.6, y2: 0.6, label: 'truck', score: 0.4 };
    expect(
      matchRecheck([{ label: 'car', score: 0.33, box: { x1: 0.51, y1: 0.52, x2: 0.62, y2: 0.61 } }], [box]),
    ).toEqual({ present: true, score: 0.33 });
    expect(
      matchRecheck([{ label: 'person', score: 0.9, box: { x1: 0.5, y1: 0.5, x2: 0.6, y2: 0.6 } }], [box])
        .present,
    ).toBe(false);
  });
});
