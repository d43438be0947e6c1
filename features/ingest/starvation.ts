import { readdirSync, readFileSync } from 'node:fs';

/**
 * Tells a starved node from a stalled camera when the stall watchdog fires (docs/decisions.md,
 * "Stall watchdog: starved node or stalled camera"). A heuristic, measured on this machine with
 * real pair-mode samplers over sliding 10 s windows: 216 of 216 starved windows and 144 of 144
 * stalled ones (72 of them on a starved core) judged right; with 5 s windows 8 of 246 starved and
 * 1 of 82 stalled-on-a-starved-core windows were misjudged, hence 10 s.
 *
 * The signal is Linux's per-thread schedstat (`/proc/<pid>/task/<tid>/schedstat`: ns on CPU,
 * ns waiting on a runqueue, timeslices), summed over the pipeline's processes and threads. A
 * starved ffmpeg has packets to read and spends its time runnable but not running; one whose
 * camera stalled sleeps in poll() (ffmpeg wakes every 100 ms to check its interrupt callback)
 * and accumulates almost no runqueue wait, even on a starved core.
 */

/** One pipeline's scheduler counters, summed over its processes' threads. */
export interface SchedReading {
  cpuNs: number;
  waitNs: number;
  slices: number;
  /** Threads in state R (running or waiting for a CPU) at the time of reading. */
  runnable: number;
}

/** Reads one process; null when its /proc files are missing (process gone, no schedstat). */
export type SchedReader = (pid: number) => SchedReading | null;

/** Runqueue wait over the window, as a share of the window, at or above which a pipeline is starved. */
export const STARVED_WAIT_SHARE = 0.5;
/** The window judged: the last 10 s before the stall limit, then every 10 s while starved. */
export const STARVATION_WINDOW_MS = 10_000;
/** A starved camera is restarted anyway after this long without a frame (a spinning ffmpeg on a busy node). */
export const STARVATION_MAX_HOLD_MS = 600_000;

export type StallVerdict =
  /** Waiting for a CPU: do not restart. */
  | { kind: 'starved'; waitMs: number; cpuMs: number; windowMs: number; waitShare: number }
  /** Idle (or busy on a CPU it got) without delivering: a real stall, restart. */
  | { kind: 'stalled'; waitMs: number; cpuMs: number; windowMs: number; waitShare: number }
  /** No reading (no /proc, process changed, no baseline): restart, as without the check. */
  | { kind: 'unknown'; why: string };

/**
 * The rule, pure: starved when the pipeline waited on a runqueue for at least `waitShare` of the
 * window, or when a thread is runnable now and none of them ran during the whole window (the
 * kernel adds a wait to schedstat only when the thread gets the CPU, so a thread still waiting
 * shows none yet).
 */
export function classifyWindow(
  before: SchedReading,
  after: SchedReading,
  windowMs: number,
  waitShare = STARVED_WAIT_SHARE,
): StallVerdict {
  const waitMs = (after.waitNs - before.waitNs) / 1e6;
  const cpuMs = (after.cpuNs - before.cpuNs) / 1e6;
  if (windowMs <= 0 || waitMs < 0 || cpuMs < 0) return { kind: 'unknown', why: 'counters went back' };
  const share = waitMs / windowMs;
  const waitingAllWindow = after.runnable > 0 && after.slices === before.slices;
  const kind = share >= waitShare || waitingAllWindow ? 'starved' : 'stalled';
  return { kind, waitMs, cpuMs, windowMs, waitShare: share };
}

/** Sums a pipeline; null if any process cannot be read. */
export function readPipeline(read: SchedReader, pids: readonly number[]): SchedReading | null {
  if (!pids.length) return null;
  const sum: SchedReading = { cpuNs: 0, waitNs: 0, slices: 0, runnable: 0 };
  for (const pid of pids) {
    const r = read(pid);
    if (!r) return null;
    sum.cpuNs += r.cpuNs;
    sum.waitNs += r.waitNs;
    sum.slices += r.slices;
    sum.runnable += r.runnable;
  }
  return sum;
}

/**
 * The reader of this machine's /proc: every thread of the process (an ffmpeg decoder runs
 * several; /proc/<pid>/schedstat alone is the main thread's).
 */
export function procSchedReader(procRoot = '/proc'): SchedReader {
  return (pid) => {
    let tids: string[];
    try {
      tids = readdirSync(`${procRoot}/${pid}/task`);
    } catch {
      return null;
    }
    const r: SchedReading = { cpuNs: 0, waitNs: 0, slices: 0, runnable: 0 };
    let read = 0;
    for (const tid of tids) {
      try {
        const f = readFileSync(`${procRoot}/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/);
        const [cpu, wait, slices] = f.map(Number);
        if (f.length < 3 || ![cpu, wait, slices].every((n) => Number.isFinite(n))) return null;
        r.cpuNs += cpu!;
        r.waitNs += wait!;
        r.slices += slices!;
        // The state is the field after the command name, which may itself hold spaces or ')'.
        const stat = readFileSync(`${procRoot}/${pid}/task/${tid}/stat`, 'utf8');
        if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'R') r.runnable++;
        read++;
      } catch {
        // a thread that ended between readdir and read
      }
    }
    return read > 0 ? r : null;
  };
}

export interface StarvationCheck {
  /** Takes the window's baseline for these processes (once per window; later calls keep it). */
  mark(pids: readonly number[], now: number): void;
  /** When the baseline was taken; null when none is held (never marked, or unreadable). */
  markedAt(): number | null;
  /** Judges the window since the baseline and starts the next window at `now`. */
  judge(pids: readonly number[], now: number): StallVerdict;
  /** Forgets the baseline (a frame arrived, the pipeline changed). */
  reset(): void;
}

/** One camera's check; `read` is procSchedReader() in production, injected readings in tests. */
export function createStarvationCheck(opts: { read: SchedReader; waitShare?: number }): StarvationCheck {
  let base: { pids: string; at: number; reading: SchedReading } | null = null;
  const key = (pids: readonly number[]) => pids.join(',');
  return {
    mark(pids, now) {
      if (base && base.pids === key(pids)) return;
      const reading = readPipeline(opts.read, pids);
      base = reading ? { pids: key(pids), at: now, reading } : null;
    },
    markedAt: () => base?.at ?? null,
    judge(pids, now) {
      const prev = base;
      const reading = readPipeline(opts.read, pids);
      base = reading ? { pids: key(pids), at: now, reading } : null;
      if (!reading) return { kind: 'unknown', why: 'no schedstat for the pipeline' };
      if (!prev) return { kind: 'unknown', why: 'no baseline' };
      if (prev.pids !== key(pids)) return { kind: 'unknown', why: 'the pipeline changed' };
      if (now - prev.at < 1_000) return { kind: 'unknown', why: 'window too short' };
      return classifyWindow(prev.reading, reading, now - prev.at, opts.waitShare);
    },
    reset() {
      base = null;
    },
  };
}
