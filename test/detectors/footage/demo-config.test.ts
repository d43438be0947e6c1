/**
 * The demo camera file (config/cameras/demo.yaml) shows a new user more than one alert type:
 * the person-dwell camera carries exactly the zones and settings of the eval scenario
 * table-dwell (eval/footage.yaml, 6 of 6 visits with SSD, docs/detectors.md §10), and on the
 * first 22 s of its footage, through the real pipeline with the demo gateway's detector
 * settings (config/gateway.yaml), it raises a loitering alert for the first woman at the table.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCameraFile } from '../../../core/config/camera-file.js';
import type { LoadedCamera } from '../../../core/contracts/loaded-camera.js';
import { createEvidenceStore } from '../../../core/evidence/evidence-store.js';
import { analyzeVideo } from '../../../features/detectors/pipeline/analyze-video.js';
import { loadLabels } from '../../../scripts/eval-lib.js';
import { acceptingGrids, openDetectorPlugins, type DetectorPlugins } from '../../../scripts/eval-rig.js';
import { mediaPath, REPO_ROOT } from '../../helpers/media.js';

const DEMO = join(REPO_ROOT, 'config', 'cameras', 'demo.yaml');

describe('demo cameras: more than one alert type on the demo footage', () => {
  // Plugins only: the model pool starts in the footage test (the settings test needs no model).
  let rig: DetectorPlugins;
  let cameras: Map<string, LoadedCamera>;
  beforeAll(async () => {
    rig = await openDetectorPlugins({
      gateway: join(REPO_ROOT, 'config', 'gateway.yaml'),
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
    });
    const read = await readCameraFile(DEMO, acceptingGrids(), (c) => rig.plugins.validateCamera(c));
    expect([...read.fileIssues, ...read.entries.flatMap((e) => e.issues)]).toEqual([]);
    cameras = new Map(read.entries.map((e) => [e.id!, e.camera!]));
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('the person-dwell camera has the zones and settings of eval scenario table-dwell', async () => {
    const labels = await loadLabels(join(REPO_ROOT, 'eval', 'footage.yaml'));
    const scenario = labels.scenarios.find((s) => s.id === 'table-dwell')!;
    const cam = cameras.get('demo-duanzhou-03')!;
    expect(cam.source).toMatchObject({ kind: 'file' });
    expect(cam.samplingIntervalSec).toBe(scenario.camera.samplingIntervalSec);
    expect(cam.detectors).toEqual(scenario.camera.detectors);
    expect(cam.zones).toEqual(scenario.camera.zones);
  });

  it('raises a loitering alert for the first person at the table (first 22 s)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-demo-ev-'));
    try {
      const r = await analyzeVideo({
        video: mediaPath('one-by-one-person-detection.mp4'),
        camera: cameras.get('demo-duanzhou-03')!,
        config: rig.config,
        plugins: rig.plugins,
        pool: await rig.openPool(),
        evidence: createEvidenceStore({ dir }),
        logger: pino({ level: 'silent' }),
        metrics: new Registry(),
        maxSec: 22,
        keepFrames: false,
      });
      const raised = r.events.filter((e) => e.raised);
      expect(raised.map((e) => [e.type, e.zone])).toEqual([['loitering', 'table']]);
      // eval/footage.yaml: woman 1 stands at the table 7-18 s, her alert is due in 10-21 s.
      expect(raised[0]!.raisedAt).toBeGreaterThanOrEqual(10);
      expect(raised[0]!.raisedAt).toBeLessThanOrEqual(21);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
