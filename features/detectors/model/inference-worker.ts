import { Writable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { pino, type Logger } from 'pino';
import { Codes, GridwatchError } from '../../../core/errors.js';
import type { DetectorPlugin, FrameModel } from '../plugin-api/contract.js';
import { downscaleGray, measureMotion } from '../motion/motion.js';
import { loadGraphModelFromFiles } from './graph-model-files.js';
import type { InitMessage, JobMessage, WorkerReply } from './protocol.js';
import { initBackend } from './tf-backend.js';

/**
 * One inference worker: its own tfjs, wasm instance and model plugins; motion check before the
 * model. Model plugins are imported here and only here (the main thread reads manifests).
 */
const port = parentPort;
if (!port) throw new Error('inference-worker must run in a worker thread');

const reply = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const errCode = (e: unknown) => (e instanceof GridwatchError ? e.code : null);

let init: InitMessage | null = null;
let logger: Logger | null = null;
const models = new Map<string, Promise<FrameModel>>();

function loadModel(name: string): Promise<FrameModel> {
  let p = models.get(name);
  if (p) return p;
  p = (async () => {
    const cfg = init!;
    const ref = cfg.plugins.find((r) => r.name === name);
    if (!ref)
      throw new GridwatchError(
        Codes.GW_MODEL_UNKNOWN,
        `no model plugin named ${name} (loaded: ${cfg.plugins.map((r) => r.name).join(', ') || 'none'})`,
      );
    let plugin: DetectorPlugin | undefined;
    try {
      plugin = ((await import(ref.entryUrl)) as { default?: DetectorPlugin }).default;
    } catch (err) {
      throw new GridwatchError(Codes.GW_MODEL_LOAD, `model plugin ${name}: import failed: ${errText(err)}`);
    }
    if (typeof plugin?.createModel !== 'function')
      throw new GridwatchError(
        Codes.GW_MODEL_LOAD,
        `model plugin ${name}: the entry module's default export has no createModel`,
      );
    const model = await plugin.createModel({
      logger: logger!.child({ plugin: name }),
      tf,
      loadGraphModel: loadGraphModelFromFiles,
      modelsDir: cfg.modelsDir,
      pluginDir: ref.dir,
      minScore: cfg.minScore,
      nmsIou: cfg.nmsIou,
    });
    if (typeof model?.detect !== 'function')
      throw new GridwatchError(Codes.GW_MODEL_LOAD, `model plugin ${name}: createModel returned no detect()`);
    return model;
  })();
  models.set(name, p);
  // A failed load is retried on the next frame (the files may have been fetched meanwhile).
  p.catch(() => models.delete(name));
  return p;
}

async function start(msg: InitMessage): Promise<void> {
  const t0 = performance.now();
  init = msg;
  // Log lines go to the main thread, which writes them through the gateway's logger.
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      reply({ type: 'log', line: chunk.toString('utf8') });
      cb();
    },
  });
  logger = pino({ level: msg.logLevel }, sink);
  try {
    const b = await initBackend(msg.backend);
    await loadModel(msg.defaultModel);
    reply({
      type: 'ready',
      backend: b.backend,
      fallbacks: b.fallbacks,
      loadMs: performance.now() - t0,
      model: msg.defaultModel,
    });
  } catch (err) {
    reply({ type: 'fatal', message: errText(err), code: errCode(err) });
  }
}

async function job(msg: JobMessage): Promise<void> {
  const name = msg.model ?? init?.defaultModel ?? '';
  try {
    if (!init) throw new Error('worker not initialised');
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
    let objects: Awaited<ReturnType<FrameModel['detect']>> = [];
    let inferMs = 0;
    if (run) {
      const model = await loadModel(name);
      const t0 = performance.now();
      const found = await model.detect({ rgb: msg.rgb, width: msg.width, height: msg.height });
      inferMs = performance.now() - t0;
      // Applied here, not in each plugin: whole-scene boxes are a failure of any detector.
      const max = init.maxBoxArea;
      objects = found.filter((o) => (o.box.x2 - o.box.x1) * (o.box.y2 - o.box.y1) <= max);
    }
    reply(
      { type: 'result', id: msg.id, model: name, inferred: run, objects, gray, changed, area, inferMs },
      gray ? [gray.buffer as ArrayBuffer] : [],
    );
  } catch (err) {
    reply({ type: 'error', id: msg.id, message: errText(err), code: errCode(err) });
  }
}

port.on('message', (msg: InitMessage | JobMessage) => {
  if (msg.type === 'init') void start(msg);
  else void job(msg);
});
