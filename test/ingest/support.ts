import { Writable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CameraSchema } from '../../core/contracts/camera-schema.js';
import { resolveSecret } from '../../core/config/resolve-secret.js';
import type { Finding } from '../../core/contracts/finding.js';
import type { Frame } from '../../core/contracts/frame.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import { createEvidenceStore } from '../../core/evidence/evidence-store.js';
import { createIngest, type Ingest } from '../../features/ingest/ingest.js';
import { IngestConfigSchema, type IngestConfig } from '../../features/ingest/ingest-config.js';
import { createLogger } from '../../core/logger.js';
import { createMetricsRegistry } from '../../core/metrics.js';

export function camera(entry: Record<string, unknown>): LoadedCamera {
  const parsed = CameraSchema.parse({
    name: `测试 ${String(entry.id)}`,
    location: { lon: 116.4, lat: 39.9 },
    ...entry,
  });
  return { ...parsed, file: 'test.yaml', line: 1, baseDir: process.cwd(), wgs84: { lon: 116.4, lat: 39.9 } };
}

export interface Harness {
  ingest: Ingest;
  frames: Frame[];
  findings: Finding[];
  logs: () => string;
  metrics: ReturnType<typeof createMetricsRegistry>;
  close(): Promise<void>;
}

/** A real ingest with a log capture and an in-memory finding sink. */
export async function startIngest(
  config: Partial<IngestConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Harness> {
  let logText = '';
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', pretty: false, destination: dest });
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const frames: Frame[] = [];
  const findings: Finding[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'gw-ingest-ev-'));
  const evidence = createEvidenceStore({ dir, timeZone: 'Asia/Shanghai' });
  const ingest = createIngest({
    config: IngestConfigSchema.parse({
      startStaggerMs: 0,
      backoff: { initialMs: 300, maxMs: 2_000 },
      ...config,
    }),
    timeZone: 'Asia/Shanghai',
    logger,
    metrics,
    frameSize: { width: 512, height: 512 },
    findingSink: { submit: async (f) => void findings.push(f) },
    evidence,
    resolveSecret: (ref, baseDir) => resolveSecret(ref, baseDir, env),
  });
  ingest.onFrame((f) => frames.push(f));
  return {
    ingest,
    frames,
    findings,
    logs: () => logText,
    metrics,
    async close() {
      await ingest.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | null | false,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Mean of all bytes: a black frame is near 0. */
export function meanLevel(rgb: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < rgb.length; i += 7) s += rgb[i]!;
  return s / Math.ceil(rgb.length / 7);
}

/** Mean absolute difference of two RGB frames (sampled). */
export function meanDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 7) {
    s += Math.abs(a[i]! - b[i]!);
    n++;
  }
  return s / n;
}
