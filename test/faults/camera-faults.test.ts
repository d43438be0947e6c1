/**
 * Camera-side faults for `npm run test:faults` (issue 14, item 10), with real parts: an RTSP
 * server (GStreamer) that flaps, ffmpeg samplers killed with SIGKILL and stopped with SIGSTOP,
 * and an evidence directory that stops being writable. Each fault must end in the expected
 * recovery with a catalogue reason visible in the camera's status (or the readiness check)
 * while it lasts, and no outage may raise more than one camera_offline finding. Waits are
 * generous bounds, not timings.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraStatus } from '../../core/contracts/camera-directory.js';
import type { Finding } from '../../core/contracts/finding.js';
import type { Frame } from '../../core/contracts/frame.js';
import { resolveSecret } from '../../core/config/resolve-secret.js';
import { Codes } from '../../core/errors.js';
import { createEvidenceStore, type FsEvidenceStore } from '../../core/evidence/evidence-store.js';
import { createLogger } from '../../core/logger.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { IngestConfigSchema } from '../../features/ingest/ingest-config.js';
import { createIngest, type Ingest } from '../../features/ingest/ingest.js';
import { vtestH264 } from '../helpers/media.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { camera } from '../ingest/support.js';

const OUTAGE_REASON = new RegExp(
  `^(${[Codes.GW_CAMERA_CONNECTION_REFUSED, Codes.GW_CAMERA_STREAM_ENDED, Codes.GW_CAMERA_TIMEOUT, Codes.GW_CAMERA_STALLED, Codes.GW_CAMERA_STREAM_NOT_FOUND, Codes.GW_CAMERA_UNREACHABLE].join('|')}): `,
);

interface Count {
  fault: string;
  outages: number;
  offlineFindings: number;
  duplicated: number;
  reason: string;
}
const counts: Count[] = [];

let dir: string;
let flapServer: RtspServer;
let steadyServer: RtspServer;
let evidence: FsEvidenceStore;
let ingest: Ingest;
const registry = createMetricsRegistry({ defaultMetrics: false });
let logText = '';
const frames: Frame[] = [];
const findings: Finding[] = [];
const states: CameraStatus[] = [];
const count = (id: string) => frames.filter((f) => f.cameraId === id).length;
const status = (id: string) => ingest.directory.get(id);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-camfaults-'));
  flapServer = await startRtspServer({ clips: { flap: vtestH264() } });
  steadyServer = await startRtspServer({ clips: { kill: vtestH264() } });
  evidence = createEvidenceStore({ dir: join(dir, 'evidence'), timeZone: 'Asia/Shanghai' });
  const logger = createLogger({
    level: 'debug',
    pretty: false,
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        logText += chunk.toString();
        cb();
      },
    }),
  });
  ingest = createIngest({
    config: IngestConfigSchema.parse({
      startStaggerMs: 0,
      offlineAfterSec: 2,
      backoff: { initialMs: 300, maxMs: 1_500 },
    }),
    timeZone: 'Asia/Shanghai',
    logger,
    metrics: registry,
    frameSize: { width: 320, height: 240 },
    findingSink: { submit: async (f) => void findings.push(f) },
    evidence,
    resolveSecret,
  });
  ingest.onFrame((f) => frames.push(f));
  ingest.directory.onState((s) => states.push(s));
  ingest.update([
    camera({ id: 'flap', source: { kind: 'rtsp', url: flapServer.url('flap') }, samplingIntervalSec: 1 }),
    camera({ id: 'kill', source: { kind: 'rtsp', url: steadyServer.url('kill') }, samplingIntervalSec: 1 }),
    camera({ id: 'stop', source: { kind: 'file', path: vtestH264() }, samplingIntervalSec: 1 }),
  ]);
  await waitFor('all three sampling', () => ['flap', 'kill', 'stop'].every((id) => count(id) >= 2), 60_000);
}, 120_000);

afterAll(async () => {
  await ingest?.close();
  await flapServer?.close();
  await steadyServer?.close();
  await rm(dir, { recursive: true, force: true });
  const line = (c: Count) =>
    `${c.fault.padEnd(38)} outages ${c.outages}  camera_offline findings ${c.offlineFindings}  duplicated ${c.duplicated}  reason ${c.reason}`;
  console.log(
    `\ncamera faults survived: ${counts.filter((c) => c.duplicated === 0).length}/${counts.length}\n${counts.map(line).join('\n')}\n`,
  );
});

/** Reasons the camera showed (from its state changes) since index `from`. */
const reasonsOf = (id: string, from: number) =>
  states
    .slice(from)
    .filter((s) => s.id === id && s.reason)
    .map((s) => s.reason!);

async function backOnline(id: string): Promise<void> {
  const before = count(id);
  await waitFor(
    `${id} back online with new frames`,
    () => status(id)?.state === 'online' && count(id) >= before + 2,
    60_000,
  );
}

describe('camera faults', () => {
  it('RTSP server flapping, an ffmpeg SIGKILLed and one SIGSTOPped, at once: each camera recovers with its reason', async () => {
    const mark = states.length;
    const t0 = Date.now();
    const flap = (async () => {
      const CYCLES = 3;
      const windows: Array<[number, number]> = [];
      for (let i = 0; i < CYCLES; i++) {
        const down = Date.now();
        await flapServer.stop();
        await waitFor('flap offline', () => status('flap')?.state === 'offline', 30_000);
        expect(status('flap')!.reason).toMatch(OUTAGE_REASON);
        // Long enough for the offline finding (offlineAfterSec 2), as a real outage would be.
        await waitFor(
          'the outage reported',
          () =>
            findings.some(
              (f) => f.cameraId === 'flap' && f.firstSeen >= down - 2_000 && f.type === 'camera_offline',
            ),
          30_000,
        );
        await flapServer.start();
        await backOnline('flap');
        windows.push([down, Date.now()]);
      }
      const offline = findings.filter(
        (f) => f.cameraId === 'flap' && f.type === 'camera_offline' && f.firstSeen >= t0 - 2_000,
      );
      const perOutage = windows.map(
        ([a, b]) => offline.filter((f) => f.lastSeen >= a - 2_000 && f.firstSeen <= b).length,
      );
      counts.push({
        fault: 'RTSP server flapping (3 stop/start)',
        outages: CYCLES,
        offlineFindings: offline.length,
        duplicated: perOutage.reduce((n, k) => n + Math.max(0, k - 1), 0),
        reason: reasonsOf('flap', mark)[0]?.split(':')[0] ?? '-',
      });
      expect(perOutage).toEqual(windows.map(() => 1));
    })();

    const kill = (async () => {
      const pid = ingest.samplerPid('kill')!;
      const from = states.length;
      process.kill(pid, 'SIGKILL');
      await waitFor(
        'kill restarted',
        () => ingest.samplerPid('kill') !== undefined && ingest.samplerPid('kill') !== pid,
        30_000,
      );
      await backOnline('kill');
      const reasons = reasonsOf('kill', from);
      expect(reasons[0]).toMatch(new RegExp(`^${Codes.GW_CAMERA_DECODER_KILLED}: `));
      counts.push({
        fault: 'ffmpeg SIGKILL',
        outages: 1,
        offlineFindings: 0,
        duplicated: 0,
        reason: Codes.GW_CAMERA_DECODER_KILLED,
      });
    })();

    const stop = (async () => {
      const pid = ingest.samplerPid('stop')!;
      const from = states.length;
      process.kill(pid, 'SIGSTOP');
      // The stall watchdog ends it (SIGKILL works on a stopped process) and starts another.
      await waitFor(
        'stop restarted by the stall watchdog',
        () => ingest.samplerPid('stop') !== undefined && ingest.samplerPid('stop') !== pid,
        60_000,
      );
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already reaped
      }
      await backOnline('stop');
      const reasons = reasonsOf('stop', from);
      expect(
        reasons.some((r) => r.startsWith(`${Codes.GW_CAMERA_STALLED}: `)),
        reasons.join(' | '),
      ).toBe(true);
      counts.push({
        fault: 'ffmpeg SIGSTOP (stall watchdog)',
        outages: 1,
        offlineFindings: findings.filter((f) => f.cameraId === 'stop' && f.type === 'camera_offline').length,
        duplicated: 0,
        reason: Codes.GW_CAMERA_STALLED,
      });
    })();

    await Promise.all([flap, kill, stop]);
    expect(logText).toContain('stall watchdog restarts the camera');
  }, 180_000);

  it('evidence directory unwritable: findings still raised without images, readiness names GW_EVIDENCE_UNWRITABLE, then recovers', async () => {
    const root = join(dir, 'evidence');
    const moved = join(dir, 'evidence-moved');
    // Running as root, permissions do not stop writes: a file where the directory was does.
    const { rename } = await import('node:fs/promises');
    await rename(root, moved);
    await writeFile(root, 'not a directory');
    try {
      const down = Date.now();
      await flapServer.stop();
      const f = await waitFor(
        'an offline finding while the store is unwritable',
        () =>
          findings.find(
            (x) => x.cameraId === 'flap' && x.type === 'camera_offline' && x.firstSeen >= down - 2_000,
          ),
        30_000,
      );
      expect(f.evidence.first).toBeNull();
      expect(evidence.health().writable).toBe(false);
      const check = await evidence.check();
      expect(check.ok).toBe(false);
      expect(check.detail).toMatch(
        new RegExp(`^${Codes.GW_EVIDENCE_UNWRITABLE}: evidence store not writable \\((ENOTDIR|EEXIST)\\)`),
      );
      expect(logText).toContain('could not store the last frame as offline evidence');
      counts.push({
        fault: 'evidence directory unwritable',
        outages: 1,
        offlineFindings: 1,
        duplicated: 0,
        reason: Codes.GW_EVIDENCE_UNWRITABLE,
      });
    } finally {
      await rm(root, { force: true });
      await rename(moved, root);
      await flapServer.start();
    }
    await backOnline('flap');
    // A later write succeeds: the next probe (at most every 5 s) reports the store writable again.
    await waitFor('evidence writable again', async () => (await evidence.check()).ok, 30_000);
  }, 120_000);

  it('media server (node-media-server child) SIGKILLed: logged once, restarted by its supervisor, live view works again', async () => {
    const first = await ingest.directory.startLiveView('stop');
    expect(first.flvUrl).toMatch(/\/live\/stop\.flv\?sign=/);
    /** The media server child of this process (its argv names nms-child). */
    const nmsPid = () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .find((p) => {
          try {
            const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            return (
              ppid === process.pid && /nms-child\.(ts|js)/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8'))
            );
          } catch {
            return false;
          }
        });
    const pid = nmsPid();
    expect(pid).toBeDefined();
    process.kill(Number(pid), 'SIGKILL');
    await waitFor('media server restarted', () => logText.includes('node-media-server restarted'), 30_000);
    expect(nmsPid()).not.toBe(pid);
    const again = await waitFor(
      'live view again',
      () => ingest.directory.startLiveView('stop').catch(() => null),
      30_000,
    );
    expect(again.flvUrl).toMatch(/\/live\/stop\.flv\?sign=/);
    expect(logText.split('node-media-server exited unexpectedly; restarting').length - 1).toBe(1);
    expect(await registry.metrics()).toMatch(/gridwatch_child_restarts_total\{child="node-media-server"\} 1/);
    counts.push({
      fault: 'media server SIGKILL',
      outages: 1,
      offlineFindings: 0,
      duplicated: 0,
      reason: 'GW_LIVE_FAILED while restarting',
    });
  }, 90_000);
});
