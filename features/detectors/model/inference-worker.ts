import { parentPort } from 'node:worker_threads';
import type * as tfTypes from '@tensorflow/tfjs';
import { initBackend, loadCenterNet, runCenterNet, type DecodeOptions } from './centernet.js';
import { downscaleGray, measureMotion } from '../motion/motion.js';
import type { InitMessage, JobMessage, WorkerReply } from './protocol.js';

/** One inference worker: its own tfjs, wasm instance and model; motion check before the model. */
const port = parentPort;
if (!port) throw new Error('inference-worker must run in a worker thread');

let model: tfTypes.GraphModel | null = null;
let decode: DecodeOptions = { minScore: 0.2, iouThreshold: 0.4 };
const reply = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function init(msg: InitMessage): Promise<void> {
  const t0 = performance.now();
  try {
    const b = await initBackend(msg.backend);
    model = await loadCenterNet(msg.modelPath);
    decode = { minScore: msg.minScore, iouThreshold: msg.iouThreshold };
    reply({ type: 'ready', backend: b.backend, fallbacks: b.fallbacks, loadMs: performance.now() - t0 });
  } catch (err) {
    reply({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
  }
}

async function job(msg: JobMessage): Promise<void> {
  try {
    if (!model) throw new Error('model not loaded');
    let gray: Uint8Array | null = null;
    let changed: number | null = null;
    let area: number | null = null;
    let run = true;
    if (msg.motion) {
      gray = downscaleGray(msg.rgb, msg.width, msg.height);
      if (msg.motion.ref) {
        const m = measureMotion(msg.motion.ref, gray, msg.motion.mask, msg.motion.pixelThreshold);
        changed = m.changed;
        area = m.area;
        run = msg.motion.force || m.changed >= msg.motion.minChangedCells;
      }
    }
    const t0 = performance.now();
    const objects = run ? await runCenterNet(model, msg.rgb, msg.width, msg.height, decode) : [];
    const inferMs = run ? performance.now() - t0 : 0;
    reply(
      { type: 'result', id: msg.id, inferred: run, objects, gray, changed, area, inferMs },
      gray ? [gray.buffer as ArrayBuffer] : [],
    );
  } catch (err) {
    reply({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
}

port.on('message', (msg: InitMessage | JobMessage) => {
  if (msg.type === 'init') void init(msg);
  else void job(msg);
});
