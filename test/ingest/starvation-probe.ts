/**
 * The measurement behind features/ingest/starvation.ts (docs/decisions.md, "Stall watchdog:
 * starved node or stalled camera"); not a test. Two real pair-mode samplers (A, B) read the test
 * RTSP server; per second it records each pipeline's schedstat (all threads) and at the end
 * judges every sliding window of 5, 10 and 15 s with the watchdog's own classifier. Phases:
 * normal; B's RTSP server SIGSTOPped (a stalled camera); A and B pinned to one CPU at nice 19
 * (IDLE=1: SCHED_IDLE) beside HOGS busy loops (A starved, B stalled on a starved core); B's
 * server resumed (both starved); hogs gone.
 *
 *   SEC=45 HOGS=8 npx tsx test/ingest/starvation-probe.ts
 *   SEC=45 HOGS=4 IDLE=1 npx tsx test/ingest/starvation-probe.ts
 *
 * It loads one CPU fully for 2 × SEC seconds: do not run it beside benchmarks.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { runSampler } from '../../features/ingest/ffmpeg-sampler.js';
import {
  classifyWindow,
  procSchedReader,
  readPipeline,
  type SchedReading,
} from '../../features/ingest/starvation.js';
import { mediaPath } from '../helpers/media.js';
import { startRtspServer } from '../helpers/rtsp-server.js';

const SEC = Number(process.env.SEC ?? 45);
const HOGS = Number(process.env.HOGS ?? 8);
const CPU = String(availableParallelism() - 1);
const clip = mediaPath('one-by-one-person-detection.mp4');
const read = procSchedReader();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const psiTotal = () =>
  existsSync('/proc/pressure/cpu')
    ? Number(/some .*total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN)
    : NaN;

const servers = {
  A: await startRtspServer({ clips: { a: clip } }),
  B: await startRtspServer({ clips: { b: clip } }),
};
const frames = { A: 0, B: 0 };
const sampler = (who: 'A' | 'B', url: string) =>
  runSampler(
    // a long socket timeout: ffmpeg would otherwise end a stalled TCP stream itself after 10 s
    {
      input: url,
      kind: 'rtsp',
      transport: 'tcp',
      intervalSec: 2,
      width: 512,
      height: 512,
      pipeline: 'pair',
      ioTimeoutSec: 3600,
    },
    { onSample: () => void frames[who]++, onExit: (i) => console.log(who, 'exited', i.code, i.signal) },
  );
const procs = { A: sampler('A', servers.A.url('a')), B: sampler('B', servers.B.url('b')) };
while (frames.A < 2 || frames.B < 2) await sleep(200);
const zero: SchedReading = { cpuNs: 0, waitNs: 0, slices: 0, runnable: 0 };
const now = (who: 'A' | 'B') => readPipeline(read, procs[who].pids) ?? zero;

type Row = { phase: string; A: SchedReading; B: SchedReading };
const rows: Row[] = [];
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();

async function phase(name: string): Promise<void> {
  const f0 = { ...frames };
  const p0 = psiTotal();
  const t0 = Date.now();
  eld.reset();
  for (let i = 0; i < SEC; i++) {
    await sleep(1_000);
    rows.push({ phase: name, A: now('A'), B: now('B') });
  }
  const dt = (Date.now() - t0) / 1000;
  const mine = rows.filter((r) => r.phase === name);
  const per = (who: 'A' | 'B') => {
    const a = mine[0]![who];
    const b = mine.at(-1)![who];
    return {
      cpuMsPerS: +((b.cpuNs - a.cpuNs) / 1e6 / dt).toFixed(2),
      waitMsPerS: +((b.waitNs - a.waitNs) / 1e6 / dt).toFixed(2),
      slicesPerS: +((b.slices - a.slices) / dt).toFixed(1),
      frames: frames[who] - f0[who],
    };
  };
  console.log(
    JSON.stringify({
      phase: name,
      A: per('A'),
      B: per('B'),
      psiSomePct: +((psiTotal() - p0) / 1e4 / dt).toFixed(1),
      loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      eventLoopP99Ms: +(eld.percentile(99) / 1e6).toFixed(1),
    }),
  );
}

await phase('normal');
for (const p of servers.B.pids()) process.kill(p, 'SIGSTOP');
await phase('B upstream stopped');
for (const p of [...procs.A.pids, ...procs.B.pids]) {
  execFileSync('taskset', ['-a', '-p', '-c', CPU, String(p)], { stdio: 'ignore' });
  if (process.env.IDLE) execFileSync('chrt', ['-a', '-i', '-p', '0', String(p)]);
  else execFileSync('renice', ['-n', '19', '-p', String(p)], { stdio: 'ignore' });
}
const hogs: ChildProcess[] = [];
for (let i = 0; i < HOGS; i++)
  hogs.push(spawn('taskset', ['-c', CPU, 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
await sleep(1_000);
await phase('A starved, B stopped on the starved CPU');
for (const p of servers.B.pids()) process.kill(p, 'SIGCONT');
await phase('A and B starved');
for (const h of hogs) h.kill('SIGKILL');
await sleep(1_000);
await phase('hogs gone');

for (const w of [5, 10, 15]) {
  for (const name of [...new Set(rows.map((r) => r.phase))]) {
    const mine = rows.filter((r) => r.phase === name);
    for (const who of ['A', 'B'] as const) {
      const shares: number[] = [];
      let starved = 0;
      for (let i = 0; i + w < mine.length; i++) {
        const v = classifyWindow(mine[i]![who], mine[i + w]![who], w * 1000);
        if (v.kind === 'unknown') continue;
        shares.push(v.waitShare);
        if (v.kind === 'starved') starved++;
      }
      if (shares.length)
        console.log(
          `window ${w} s | ${name} | ${who} | wait share ${Math.min(...shares).toFixed(3)}–${Math.max(...shares).toFixed(3)} | starved ${starved} of ${shares.length}`,
        );
    }
  }
}
await Promise.all([procs.A.stop(), procs.B.stop()]);
await Promise.all([servers.A.close(), servers.B.close()]);
