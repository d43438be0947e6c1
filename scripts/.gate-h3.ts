import { pino } from 'pino';
import { Registry } from 'prom-client';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectorsConfigSchema } from '../detectors/detectors-config.ts';
import { loadPlugins } from '../detectors/loader/plugin-loader.ts';
import { createInferencePool } from '../detectors/model/inference-pool.ts';
import { analyzeVideo } from '../detectors/pipeline/analyze-video.ts';
import { CameraSchema } from '../gateway/config/camera-schema.ts';
import { createEvidenceStore } from '../gateway/evidence/evidence-store.ts';
const logger = pino({ level: 'warn' });
const cam = (raw: Record<string, unknown>) => ({ ...CameraSchema.parse({ name: 'b', source: { kind: 'file', path: 'x' }, location: { lon: 120.15, lat: 30.28 }, samplingIntervalSec: 1, ...raw }), file: 'b', line: 1, baseDir: '.', wgs84: { lon: 120.15, lat: 30.28 } });
const plugins = await loadPlugins({ config: DetectorsConfigSchema.parse({}), baseDir: '.', logger, metrics: new Registry() });
const pool = createInferencePool({ workers: 2, backend: 'wasm', logger, metrics: new Registry() });
await pool.ready();
const clips = [
  ['vtest.avi', cam({ id: 'v', detectors: [{ rule: 'illegal_parking', options: { dwellSec: 20 } }], zones: [{ id: 'van', name: 'van', polygon: [[0.82, 0.05], [0.945, 0.05], [0.945, 0.21], [0.82, 0.21]], rules: ['illegal_parking'] }] })],
  ['one-by-one-person-detection.mp4', cam({ id: 'o', detectors: [{ rule: 'loitering', options: { dwellSec: 5, minScore: 0.3 } }], zones: [{ id: 't', name: 't', polygon: [[0.38, 0.5], [0.84, 0.5], [0.84, 1], [0.38, 1]], rules: ['loitering'] }] })],
] as const;
for (const motion of JSON.parse(process.argv[2] ?? '[{}]') as object[]) {
  for (const [f, c] of clips) {
    const r = await analyzeVideo({ video: `/work/shared/media/${f}`, camera: c, config: DetectorsConfigSchema.parse({ motion, tracker: { maxMissedStationary: 2 } }), plugins, pool, evidence: createEvidenceStore({ dir: mkdtempSync(join(tmpdir(), 'g')) }), logger, metrics: new Registry() });
    const changed = r.frames.map((x) => (x.inferred ? 'I' : '.')).join('');
    console.log(JSON.stringify(motion), f, `${r.framesInferred}/${r.framesSampled}`, r.events.map((e) => `${e.start}-${e.end}@${e.raisedAt}`).join(' '), '\n', changed);
  }
}
await pool.close();
await plugins.close();
