import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CAMERA_STATES, type CameraStatus } from '../../core/contracts/camera-directory.js';

export interface IngestMetrics {
  samples: Counter<'camera'>;
  restarts: Counter<'camera' | 'reason'>;
  lag: Histogram;
  /** Persistent-mode frames by timing: on_time, late (beyond half an interval), duplicate. */
  frameTiming: Counter<'timing'>;
  deliveryDelay: Histogram;
  keyframeWait: Histogram;
  ffmpegProcesses: Gauge;
  liveRelays: Gauge;
  /** Stall-watchdog judgements by verdict: starved (not restarted), stalled, unknown (starvation.ts). */
  stallChecks: Counter<'verdict'>;
  /** Episodes in which a camera was held instead of restarted because its pipeline was starved. */
  starvedEpisodes: Counter<'camera'>;
  /** Updates the per-state and per-camera gauges from the current statuses. */
  refresh(
    statuses: CameraStatus[],
    fleetLagP95Ms: number | null,
    samplesPerSec: number,
    budget?: { demand: number; granted: number; stretched: number },
  ): void;
}

/**
 * Ingest metrics on the registry passed in. Per-camera series (samples, restarts, last frame,
 * lag p95) carry a `camera` label: 2,000 cameras × 4 series stays well inside what Prometheus
 * handles, and operators ask "which camera" first.
 */
export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry];
  const samples = new Counter({
    name: 'gridwatch_ingest_samples_total',
    help: 'Frames sampled, per camera',
    labelNames: ['camera'],
    registers,
  });
  const restarts = new Counter({
    name: 'gridwatch_ingest_restarts_total',
    help: 'Camera pipeline restarts, per camera and reason code',
    labelNames: ['camera', 'reason'],
    registers,
  });
  const lag = new Histogram({
    name: 'gridwatch_ingest_sample_lag_seconds',
    help: 'Actual minus scheduled sample time, all cameras',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers,
  });
  const frameTiming = new Counter({
    name: 'gridwatch_ingest_frames_total',
    help: 'Persistent-mode frames by timing: on_time, late (lag beyond half the interval) or duplicate (a second frame for a slot)',
    labelNames: ['timing'],
    registers,
  });
  const deliveryDelay = new Histogram({
    name: 'gridwatch_ingest_delivery_delay_seconds',
    help: 'Arrival of a sample beyond the best case seen on its connection (network, ffmpeg, the node), all cameras',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers,
  });
  const keyframeWait = new Histogram({
    name: 'gridwatch_ingest_keyframe_wait_seconds',
    help: 'Stream time from the start of a sample slot to the keyframe picked for it, all cameras',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers,
  });
  const ffmpegProcesses = new Gauge({
    name: 'gridwatch_ingest_ffmpeg_processes',
    help: 'ffmpeg sampler processes running now',
    registers,
  });
  const liveRelays = new Gauge({
    name: 'gridwatch_ingest_live_relays',
    help: 'Live-view relays running now',
    registers,
  });
  const stallChecks = new Counter({
    name: 'gridwatch_ingest_stall_checks_total',
    help: 'Stall-watchdog judgements of a camera without frames: starved (waiting for a CPU, not restarted), stalled (restarted) or unknown (no schedstat, restarted)',
    labelNames: ['verdict'],
    registers,
  });
  const starvedEpisodes = new Counter({
    name: 'gridwatch_ingest_starved_episodes_total',
    help: 'Episodes in which a camera without frames was not restarted because its ffmpeg processes were waiting for a CPU, per camera',
    labelNames: ['camera'],
    registers,
  });
  const byState = new Gauge({
    name: 'gridwatch_ingest_cameras',
    help: 'Cameras per state',
    labelNames: ['state'],
    registers,
  });
  const lastFrame = new Gauge({
    name: 'gridwatch_ingest_last_frame_timestamp_seconds',
    help: 'Time of the last sampled frame, per camera',
    labelNames: ['camera'],
    registers,
  });
  const camLag = new Gauge({
    name: 'gridwatch_ingest_camera_lag_p95_seconds',
    help: 'p95 sample lag over the last 50 samples, per camera',
    labelNames: ['camera'],
    registers,
  });
  const fleetLag = new Gauge({
    name: 'gridwatch_ingest_lag_p95_seconds',
    help: 'p95 sample lag over recent samples, all cameras',
    registers,
  });
  const rate = new Gauge({
    name: 'gridwatch_ingest_samples_per_second',
    help: 'Frames sampled per second over the last minute, all cameras',
    registers,
  });
  const effInterval = new Gauge({
    name: 'gridwatch_ingest_effective_interval_seconds',
    help: 'Seconds between samples now, per camera (longer than configured when the decode budget stretched it)',
    labelNames: ['camera'],
    registers,
  });
  const byMode = new Gauge({
    name: 'gridwatch_ingest_cameras_by_mode',
    help: 'Cameras per sampling mode (pair, single, full, burst, snapshot)',
    labelNames: ['mode'],
    registers,
  });
  const demand = new Gauge({
    name: 'gridwatch_ingest_decode_demand_per_second',
    help: 'Decodes per second the cameras ask for at their configured intervals',
    registers,
  });
  const granted = new Gauge({
    name: 'gridwatch_ingest_decode_granted_per_second',
    help: 'Decodes per second the decode budget grants (after stretching intervals)',
    registers,
  });
  const stretchedCams = new Gauge({
    name: 'gridwatch_ingest_stretched_cameras',
    help: 'Cameras sampled at a longer interval than configured because the decode budget is full',
    registers,
  });
  return {
    samples,
    restarts,
    lag,
    frameTiming,
    deliveryDelay,
    keyframeWait,
    ffmpegProcesses,
    liveRelays,
    stallChecks,
    starvedEpisodes,
    refresh(statuses, fleetLagP95Ms, samplesPerSec, budget) {
      const counts = Object.fromEntries(CAMERA_STATES.map((s) => [s, 0])) as Record<string, number>;
      const modes: Record<string, number> = { pair: 0, single: 0, full: 0, burst: 0, snapshot: 0 };
      lastFrame.reset();
      camLag.reset();
      effInterval.reset();
      for (const s of statuses) {
        counts[s.state] = (counts[s.state] ?? 0) + 1;
        if (s.ingest && s.state !== 'disabled') {
          modes[s.ingest.mode] = (modes[s.ingest.mode] ?? 0) + 1;
          effInterval.set({ camera: s.id }, s.ingest.effectiveIntervalSec);
        }
        if (s.lastFrameAt !== null) lastFrame.set({ camera: s.id }, s.lastFrameAt / 1000);
        if (s.lagP95Ms !== null) camLag.set({ camera: s.id }, s.lagP95Ms / 1000);
      }
      for (const [state, n] of Object.entries(counts)) byState.set({ state }, n);
      for (const [mode, n] of Object.entries(modes)) byMode.set({ mode }, n);
      if (budget) {
        demand.set(budget.demand);
        granted.set(budget.granted);
        stretchedCams.set(budget.stretched);
      }
      if (fleetLagP95Ms !== null) fleetLag.set(fleetLagP95Ms / 1000);
      rate.set(samplesPerSec);
    },
  };
}

/** p95 of a small sample (nearest-rank). */
export function p95(values: readonly number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}
