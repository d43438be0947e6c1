/**
 * 二次识别 at raise time, on a real vtest.avi frame through the real pipeline and model.
 *
 * The same frame is fed every second, so after the first samples the motion gate skips the
 * model and the tracker holds the parked van; when its dwell is reached the pipeline must run
 * the model once more on the frame being raised (its JPEG, since the gated frame's pixels went
 * to the worker). The JPEG is the only thing that differs between the two runs: with the van
 * painted out of it, the alert is held back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import {
  createDetectionPipeline,
  type PipelineEvent,
} from '../../../features/detectors/pipeline/detection-pipeline.js';
import { MODEL_SIZE } from '../../../features/detectors/model/centernet.js';
import { createEvidenceStore } from '../../../core/evidence/evidence-store.js';
import type { Finding } from '../../../core/contracts/finding.js';
import { mediaPath } from '../../helpers/media.js';
import { camera, decodeFrames } from '../core/helpers.js';
import { createRig, type Rig } from './setup.js';

const W = 768;
const H = 576;
// The van at x 652-722, y 44-100 px of 768×576 (test/fixtures/detectors/vtest-counts.json).
const VAN_ZONE: Array<[number, number]> = [
  [0.82, 0.05],
  [0.945, 0.05],
  [0.945, 0.21],
  [0.82, 0.21],
];
const cam = camera({
  id: 'recheck-van',
  samplingIntervalSec: 1,
  detectors: [{ rule: 'illegal_parking', options: { dwellSec: 8, minHits: 1 } }],
  zones: [{ id: 'van-bay', name: '面包车禁停区', polygon: VAN_ZONE, rules: ['illegal_parking'] }],
});

describe('re-check before raising (二次识别)', () => {
  let rig: Rig;
  let raw: Buffer;
  beforeAll(async () => {
    rig = await createRig();
    raw = Buffer.from(decodeFrames(mediaPath('vtest.avi'), [10], W, H)[0]!);
  }, 120_000);
  afterAll(async () => {
    await rig.close();
  });

  async function run(jpeg: Buffer): Promise<{ findings: Finding[]; events: PipelineEvent[] }> {
    const findings: Finding[] = [];
    const events: PipelineEvent[] = [];
    const pipeline = createDetectionPipeline({
      config: rig.config,
      plugins: rig.plugins,
      pool: rig.pool,
      evidence: createEvidenceStore({ dir: rig.evidenceDir }),
      findingSink: {
        submit: (f) => {
          findings.push(f);
          return Promise.resolve();
        },
      },
      timeZone: 'Asia/Shanghai',
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      onEvent: (e) => void events.push(e),
    });
    const rgb = await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
      .resize(MODEL_SIZE, MODEL_SIZE, { fit: 'fill' })
      .raw()
      .toBuffer();
    const t0 = Date.UTC(2026, 11, 1, 2, 0, 0);
    for (let i = 0; i < 20; i++) {
      await pipeline.process(
        {
          cameraId: cam.id,
          seq: i,
          capturedAt: t0 + i * 1_000,
          width: MODEL_SIZE,
          height: MODEL_SIZE,
          rgb: new Uint8Array(rgb),
          jpeg: new Uint8Array(jpeg),
          jpegWidth: W,
          jpegHeight: H,
        },
        cam,
      );
    }
    await pipeline.close();
    return { findings, events };
  }

  it('raises the parked van when the model still sees it in the raised frame', async () => {
    const jpeg = await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
      .jpeg()
      .toBuffer();
    const { findings, events } = await run(jpeg);
    const frames = events.filter((e) => e.kind === 'frame');
    expect(frames.filter((e) => !e.inferred).length).toBeGreaterThan(5); // the gate held the van
    const rechecks = events.filter((e) => e.kind === 'recheck');
    expect(rechecks.length).toBeGreaterThanOrEqual(1);
    expect(rechecks[0]).toMatchObject({ present: true, type: 'illegal_parking' });
    expect(findings.filter((f) => f.type === 'illegal_parking')).toHaveLength(1);
  }, 120_000);

  it('holds the alert back when the van is gone from the raised frame', async () => {
    // Paint the van's place grey in the JPEG only: the model inputs stay the same.
    const patch = await sharp({
      create: { width: 110, height: 80, channels: 3, background: { r: 120, g: 120, b: 120 } },
    })
      .png()
      .toBuffer();
    const jpeg = await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
      .composite([{ input: patch, left: 635, top: 30 }])
      .jpeg()
      .toBuffer();
    const { findings, events } = await run(jpeg);
    const rechecks = events.filter((e) => e.kind === 'recheck');
    expect(rechecks.length).toBeGreaterThanOrEqual(1);
    expect(rechecks.every((e) => e.kind === 'recheck' && !e.present && e.fresh)).toBe(true);
    expect(findings).toEqual([]);
  }, 120_000);
});
