import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { Codes, ClosedError, GridwatchError } from '../../../core/errors.js';
import { startWorker } from '../../../core/util/worker-entry.js';
import { DetectorsConfigSchema, type DetectorsConfig } from '../config/detectors-config.js';
import { createLogForwarder } from '../loader/forward-log.js';
import { readModelPlugins } from '../loader/manifest-validation.js';
import { defaultModelsDir } from './models-dir.js';
import type { BackendChoice } from './tf-backend.js';
import type {
  FrameOutcome,
  InitMessage,
  JobMessage,
  ModelPluginRef,
  MotionRequest,
  WorkerReply,
} from './protocol.js';

export interface InferenceRequest {
  /** Queue key: a camera has at most one job queued; a newer one replaces it (drop-oldest). */
  cameraId: string;
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Model plugin (the camera's `model`); the pool's default model when absent. */
  model?: string;
  /** Built when the job is dispatched, so it sees the result of the camera's previous job. */
  motion?: () => MotionRequest | undefined;
  /** Called synchronously with the result, before the camera's next job is dispatched. */
  onResult?: (r: InferenceResult) => void;
}

export type InferenceResult = ({ status: 'done' } & FrameOutcome) | { status: 'dropped' };

export interface InferencePoolHealth {
  backend: string | null;
  /** Model cameras get when they name none. */
  defaultModel: string;
  /** Model plugins the workers can load (from manifests), with their licences. */
  models: Array<{ name: string; version: string; license: string | null }>;
  fallbacks: string[];
  workers: number;
  alive: number;
  queueDepth: number;
  inFlight: number;
  restarts: number;
  dropped: number;
  lastError: string | null;
}

export interface InferencePool {
  /** Resolves when every worker has loaded the model; rejects when none could. */
  ready(): Promise<void>;
  infer(req: InferenceRequest): Promise<InferenceResult>;
  health(): InferencePoolHealth;
  /** Terminates worker `index`; it is restarted like a worker that died (operations, tests). */
  restartWorker(index: number): Promise<void>;
  close(): Promise<void>;
}

export interface InferencePoolOptions {
  workers: number | 'auto';
  backend: BackendChoice;
  logger: Logger;
  metrics: Registry;
  /** detectors.model as parsed (the schema holds the defaults); default: the schema's defaults. */
  model?: DetectorsConfig['model'];
  /** Model plugins from their manifests (PluginSet.modelPlugins()); default: the built-in ones. */
  plugins?: ModelPluginRef[];
  /** Absolute folder of fetched model files; default model.dir, else var/models in the project. */
  modelsDir?: string;
  /** Overrides model.minScore (scripts/analyze.ts passes it). */
  minScore?: number;
  /** Overrides model.nmsIou (scripts/analyze.ts passes it). */
  iouThreshold?: number;
  /** Cameras waiting at most; beyond it the longest-waiting camera's frame is dropped. */
  maxQueue?: number;
  /**
   * A job not answered within this is a hung worker (a model in a loop, a wedged backend): the
   * worker is terminated and restarted, the job fails with GW_INFERENCE_HUNG. Default 30 s,
   * some hundred times a normal inference.
   */
  jobTimeoutMs?: number;
}

interface Pending {
  req: InferenceRequest;
  resolve: (r: InferenceResult) => void;
  reject: (e: Error) => void;
  enqueuedAt: number;
}

interface Slot {
  index: number;
  worker: Worker | null;
  ready: boolean;
  /** Deaths in a row before the worker ever became ready. */
  startFailures: number;
  job: (Pending & { id: number }) | null;
  closing: boolean;
  /** Fires when the job in flight has taken longer than jobTimeoutMs. */
  timer: NodeJS.Timeout | null;
  /** Set when the watchdog terminated the worker: its exit is a hang, not a crash. */
  hung: boolean;
}

/**
 * N worker threads, each with its own tfjs + model (wasm is single-threaded in Node, so
 * threads are the only parallelism). One job per camera in flight and one queued: a camera
 * that falls behind gets its newest frame inferred, not a backlog.
 */
export function createInferencePool(opts: InferencePoolOptions): InferencePool {
  const log = opts.logger.child({ component: 'inference-pool' });
  const n = opts.workers === 'auto' ? Math.max(1, availableParallelism()) : opts.workers;
  const maxQueue = opts.maxQueue ?? 1_000;
  const jobTimeoutMs = opts.jobTimeoutMs ?? 30_000;
  const reg = opts.metrics;
  const modelCfg = opts.model ?? DetectorsConfigSchema.parse({}).model;
  const defaultModel = modelCfg.plugin;
  const modelsDir = opts.modelsDir ?? modelCfg.dir ?? defaultModelsDir();
  const forward = createLogForwarder(log, 'worker');
  let plugins: ModelPluginRef[] = opts.plugins ?? [];
  const pluginsReady: Promise<void> = opts.plugins
    ? Promise.resolve()
    : readModelPlugins({ pluginDirs: [] }, '.', undefined, (dir, err) =>
        log.error({ dir, err }, 'model plugin skipped'),
      ).then((p) => {
        plugins = p;
      });
  const mInfer = new Histogram({
    name: 'gridwatch_detector_inference_seconds',
    help: 'Model inference time per frame (in the worker)',
    buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5],
    registers: [reg],
  });
  const mWait = new Histogram({
    name: 'gridwatch_detector_queue_wait_seconds',
    help: 'Time a frame waited for a worker',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [reg],
  });
  const mBackend = new Gauge({
    name: 'gridwatch_detector_backend_info',
    help: 'TF.js backend in use (value 1)',
    labelNames: ['backend'],
    registers: [reg],
  });
  const mDropped = new Counter({
    name: 'gridwatch_detector_frames_dropped_total',
    help: 'Frames replaced by a newer frame of the same camera before inference',
    registers: [reg],
  });
  const mSkipped = new Counter({
    name: 'gridwatch_detector_motion_skipped_total',
    help: 'Frames the motion gate kept from the model',
    registers: [reg],
  });
  const mInferred = new Counter({
    name: 'gridwatch_detector_frames_inferred_total',
    help: 'Frames the model ran on',
    registers: [reg],
  });
  const mByModel = new Counter({
    name: 'gridwatch_detector_model_inferences_total',
    help: 'Frames inferred, by model plugin',
    labelNames: ['model'],
    registers: [reg],
  });
  const mRestarts = new Counter({
    name: 'gridwatch_detector_worker_restarts_total',
    help: 'Inference workers restarted after dying',
    registers: [reg],
  });
  const mHung = new Counter({
    name: 'gridwatch_detector_worker_hung_total',
    help: 'Inference workers terminated for not finishing a frame within the job timeout',
    registers: [reg],
  });
  new Gauge({
    name: 'gridwatch_detector_queue_depth',
    help: 'Cameras with a frame waiting for a worker',
    registers: [reg],
    collect() {
      this.set(queue.size);
    },
  });

  /** Insertion-ordered: the first key is the camera that has waited longest. */
  const queue = new Map<string, Pending>();
  const busyCameras = new Set<string>();
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;
  let closing: Promise<void> | null = null;
  let backend: string | null = null;
  let fallbacks: string[] = [];
  let restarts = 0;
  let dropped = 0;
  let lastError: string | null = null;
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  let readySettled = false;
  const readyPromise = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  // ready() may never be awaited by a caller that only infers; the rejection is also logged.
  readyPromise.catch((e: unknown) => {
    if (!(e instanceof ClosedError)) log.error({ err: e }, 'inference pool failed to start');
  });

  function spawn(slot: Slot): void {
    const w = startWorker(import.meta.url, 'inference-worker');
    slot.worker = w;
    slot.ready = false;
    w.on('message', (m: WorkerReply) => onMessage(slot, m));
    w.on('error', (err) => {
      lastError = err.message;
      log.error({ err, worker: slot.index }, 'inference worker crashed');
    });
    w.on('exit', (code) => onExit(slot, w, code));
    w.postMessage({
      type: 'init',
      backend: opts.backend,
      plugins,
      defaultModel,
      modelsDir,
      minScore: opts.minScore ?? modelCfg.minScore,
      nmsIou: opts.iouThreshold ?? modelCfg.nmsIou,
      maxBoxArea: modelCfg.maxBoxArea,
      logLevel: opts.logger.level,
    } satisfies InitMessage);
  }

  function settleReady(err?: Error): void {
    if (readySettled) return;
    readySettled = true;
    if (err) readyReject(err);
    else readyResolve();
  }

  function onExit(slot: Slot, w: Worker, code: number): void {
    if (slot.worker !== w) return;
    const wasReady = slot.ready;
    slot.worker = null;
    slot.ready = false;
    const job = slot.job;
    slot.job = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const hung = slot.hung;
    slot.hung = false;
    if (job) {
      busyCameras.delete(job.req.cameraId);
      // Terminated by close(): the frame is dropped like the queued ones, not a failure.
      if (closed) job.resolve({ status: 'dropped' });
      else
        job.reject(
          hung
            ? new GridwatchError(
                Codes.GW_INFERENCE_HUNG,
                `inference worker ${slot.index} did not finish a frame of camera ${job.req.cameraId} within ${jobTimeoutMs} ms; restarted`,
              )
            : new GridwatchError(
                Codes.GW_INFERENCE_WORKER_DIED,
                `inference worker ${slot.index} exited (code ${code}) during a job`,
              ),
        );
    }
    if (closed || slot.closing) return;
    if (!wasReady && ++slot.startFailures >= 3) {
      // A worker that cannot even start (broken install, missing file) would restart forever.
      const msg = `inference worker ${slot.index} died ${slot.startFailures} times before loading the model${lastError ? `: ${lastError}` : ''}`;
      log.error({ worker: slot.index }, msg);
      settleReady(new GridwatchError(Codes.GW_MODEL_LOAD, msg));
      return;
    }
    restarts++;
    mRestarts.inc();
    log.warn({ worker: slot.index, code }, 'inference worker exited; restarting');
    // A short delay keeps a worker that dies at start from spinning the CPU.
    setTimeout(() => {
      if (!closed) spawn(slot);
    }, 500).unref();
    dispatch();
  }

  function onMessage(slot: Slot, m: WorkerReply): void {
    if (m.type === 'log') {
      forward(`inference-${slot.index}`, m.line);
      return;
    }
    if (m.type === 'ready') {
      slot.ready = true;
      slot.startFailures = 0;
      if (backend === null) {
        backend = m.backend;
        fallbacks = m.fallbacks;
        mBackend.set({ backend: m.backend }, 1);
        log.info(
          {
            backend: m.backend,
            fallbacks: m.fallbacks,
            loadMs: Math.round(m.loadMs),
            workers: n,
            model: m.model,
          },
          'inference backend ready',
        );
        for (const f of m.fallbacks) log.info({ fallback: f }, 'TF.js backend not used');
      }
      if (slots.every((s) => s.ready)) settleReady();
      dispatch();
      return;
    }
    if (m.type === 'fatal') {
      lastError = m.message;
      log.error({ worker: slot.index, message: m.message }, 'inference worker could not load the model');
      settleReady(
        new GridwatchError(
          m.code === Codes.GW_MODEL_UNKNOWN ? Codes.GW_MODEL_UNKNOWN : Codes.GW_MODEL_LOAD,
          `inference worker could not load model ${defaultModel}: ${m.message}`,
        ),
      );
      slot.closing = true;
      void slot.worker?.terminate();
      return;
    }
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    slot.job = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    busyCameras.delete(job.req.cameraId);
    if (m.type === 'error') {
      lastError = m.message;
      // A model that cannot load keeps its code, so the camera's error says what to run.
      const code =
        m.code === Codes.GW_MODEL_LOAD || m.code === Codes.GW_MODEL_UNKNOWN ? m.code : Codes.GW_INFERENCE;
      job.reject(new GridwatchError(code, `inference failed for camera ${job.req.cameraId}: ${m.message}`));
    } else {
      if (m.inferred) {
        mInferred.inc();
        mByModel.inc({ model: m.model });
        mInfer.observe(m.inferMs / 1000);
      } else mSkipped.inc();
      const r: InferenceResult = {
        status: 'done',
        inferred: m.inferred,
        objects: m.objects,
        gray: m.gray,
        changed: m.changed,
        area: m.area,
        inferMs: m.inferMs,
      };
      try {
        job.req.onResult?.(r);
      } catch (err) {
        log.error({ err, cameraId: job.req.cameraId }, 'onResult hook threw');
      }
      job.resolve(r);
    }
    dispatch();
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (!slot.ready || slot.job || !slot.worker) continue;
      let picked: Pending | undefined;
      for (const [cam, p] of queue) {
        if (busyCameras.has(cam)) continue;
        picked = p;
        queue.delete(cam);
        break;
      }
      if (!picked) return;
      const id = nextId++;
      busyCameras.add(picked.req.cameraId);
      slot.job = { ...picked, id };
      mWait.observe((performance.now() - picked.enqueuedAt) / 1000);
      let motion: MotionRequest | undefined;
      try {
        motion = picked.req.motion?.();
      } catch (err) {
        log.error(
          { err, cameraId: picked.req.cameraId },
          'motion request builder threw; inferring without the gate',
        );
      }
      const msg: JobMessage = {
        type: 'job',
        id,
        rgb: picked.req.rgb,
        width: picked.req.width,
        height: picked.req.height,
        ...(picked.req.model ? { model: picked.req.model } : {}),
        ...(motion ? { motion } : {}),
      };
      // Transfer the pixels: no copy. The caller must not reuse rgb afterwards.
      const buf = picked.req.rgb.buffer;
      const transfer =
        buf instanceof ArrayBuffer && buf.byteLength === picked.req.rgb.byteLength ? [buf] : [];
      slot.worker.postMessage(msg, transfer);
      const w = slot.worker;
      slot.timer = setTimeout(() => {
        if (slot.worker !== w || slot.job?.id !== id) return;
        slot.hung = true;
        lastError = `${Codes.GW_INFERENCE_HUNG}: worker ${slot.index} gave no answer within ${jobTimeoutMs} ms (camera ${picked.req.cameraId})`;
        mHung.inc();
        log.warn(
          { worker: slot.index, cameraId: picked.req.cameraId, timeoutMs: jobTimeoutMs },
          'inference worker hung; terminating and restarting it',
        );
        void w.terminate();
      }, jobTimeoutMs);
      slot.timer.unref();
    }
  }

  for (let i = 0; i < n; i++)
    slots.push({
      index: i,
      worker: null,
      ready: false,
      startFailures: 0,
      job: null,
      closing: false,
      timer: null,
      hung: false,
    });
  void pluginsReady.then(
    () => {
      if (closed) return;
      if (!plugins.some((p) => p.name === defaultModel)) {
        settleReady(
          new GridwatchError(
            Codes.GW_MODEL_UNKNOWN,
            `detectors.model.plugin is ${defaultModel}, but no model plugin has that name (loaded: ${plugins.map((p) => p.name).join(', ') || 'none'})`,
          ),
        );
        return;
      }
      for (const slot of slots) spawn(slot);
    },
    (err: unknown) =>
      settleReady(
        new GridwatchError(
          Codes.GW_MODEL_LOAD,
          `model plugins could not be listed: ${err instanceof Error ? err.message : String(err)}`,
        ),
      ),
  );

  return {
    ready: () => readyPromise,
    infer(req) {
      if (closed) return Promise.reject(new ClosedError('inference pool'));
      if (req.rgb.length !== req.width * req.height * 3) {
        return Promise.reject(
          new GridwatchError(
            Codes.GW_FRAME_SIZE,
            `frame of camera ${req.cameraId}: rgb has ${req.rgb.length} bytes, expected ${req.width}×${req.height}×3`,
          ),
        );
      }
      return new Promise<InferenceResult>((resolve, reject) => {
        const old = queue.get(req.cameraId);
        if (old) {
          queue.delete(req.cameraId);
          dropped++;
          mDropped.inc();
          old.resolve({ status: 'dropped' });
        } else if (queue.size >= maxQueue) {
          const [cam, oldest] = queue.entries().next().value as [string, Pending];
          queue.delete(cam);
          dropped++;
          mDropped.inc();
          oldest.resolve({ status: 'dropped' });
        }
        queue.set(req.cameraId, { req, resolve, reject, enqueuedAt: performance.now() });
        dispatch();
      });
    },
    health() {
      return {
        backend,
        defaultModel,
        models: plugins.map((p) => ({ name: p.name, version: p.version, license: p.license })),
        fallbacks,
        workers: n,
        alive: slots.filter((s) => s.worker && s.ready).length,
        queueDepth: queue.size,
        inFlight: slots.filter((s) => s.job).length,
        restarts,
        dropped,
        lastError,
      };
    },
    async restartWorker(index) {
      const w = slots[index]?.worker;
      if (!w) throw new GridwatchError(Codes.GW_NOT_FOUND, `inference worker ${index} is not running`);
      await w.terminate();
    },
    close() {
      closing ??= (async () => {
        closed = true;
        for (const p of queue.values()) p.resolve({ status: 'dropped' });
        queue.clear();
        settleReady(new ClosedError('inference pool'));
        await Promise.all(
          slots.map(async (s) => {
            s.closing = true;
            const w = s.worker;
            if (w) await w.terminate();
          }),
        );
      })();
      return closing;
    },
  };
}
