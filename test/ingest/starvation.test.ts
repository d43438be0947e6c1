import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import {
  classifyWindow,
  createStarvationCheck,
  procSchedReader,
  readPipeline,
  STARVED_WAIT_SHARE,
  type SchedReader,
  type SchedReading,
} from '../../features/ingest/starvation.js';

const ms = 1e6;
const reading = (waitMs: number, cpuMs = 0, slices = 0, runnable = 0): SchedReading => ({
  waitNs: waitMs * ms,
  cpuNs: cpuMs * ms,
  slices,
  runnable,
});
const zero = reading(0);

describe('starvation classifier (injected readings)', () => {
  // Figures per 10 s window measured on this machine (docs/decisions.md): a starved pair-mode
  // pipeline waited 5.5–26.9 s, one whose upstream stopped 0–0.05 s on an idle core and
  // 0.7–4.5 s on a starved one.
  it('a pipeline that waited most of the window for a CPU is starved', () => {
    const v = classifyWindow(zero, reading(5_460, 12, 43), 10_000);
    expect(v).toMatchObject({ kind: 'starved', waitMs: 5_460, cpuMs: 12 });
    expect(classifyWindow(zero, reading(26_900, 30, 110), 10_000).kind).toBe('starved');
  });

  it('an idle pipeline (the camera stalled) is stalled, on an idle or a starved core', () => {
    expect(classifyWindow(zero, reading(50, 4, 100), 10_000).kind).toBe('stalled');
    // stalled camera on a starved core: ffmpeg's 100 ms poll wakes wait too, but far less
    expect(classifyWindow(reading(1_000, 1, 70), reading(5_490, 3, 143), 10_000).kind).toBe('stalled');
  });

  it('the threshold is the wait share of the window', () => {
    const at = STARVED_WAIT_SHARE * 10_000;
    expect(classifyWindow(zero, reading(at), 10_000).kind).toBe('starved');
    expect(classifyWindow(zero, reading(at - 1), 10_000).kind).toBe('stalled');
    expect(classifyWindow(zero, reading(at - 1), 10_000, 0.25).kind).toBe('starved');
  });

  it('a thread runnable now that never ran during the window is starved (its wait is not counted yet)', () => {
    const before = reading(100, 5, 40, 1);
    expect(classifyWindow(before, reading(100, 5, 40, 1), 10_000).kind).toBe('starved');
    // runnable now but it did run: judged by the wait
    expect(classifyWindow(before, reading(100, 5, 41, 1), 10_000).kind).toBe('stalled');
    // no slice and not runnable: asleep the whole window
    expect(classifyWindow(before, reading(100, 5, 40, 0), 10_000).kind).toBe('stalled');
  });

  it('counters that went back (a new process under the same pid) give no verdict', () => {
    expect(classifyWindow(reading(9_000), reading(10), 10_000).kind).toBe('unknown');
  });

  it('sums the pipeline; a missing /proc file of any process gives no reading', () => {
    const table: Record<number, SchedReading | null> = {
      1: reading(10, 1, 2),
      2: reading(5, 3, 4, 1),
      3: null,
    };
    const read: SchedReader = (pid) => table[pid] ?? null;
    expect(readPipeline(read, [1, 2])).toEqual(reading(15, 4, 6, 1));
    expect(readPipeline(read, [1, 3])).toBeNull();
    expect(readPipeline(read, [])).toBeNull();
  });

  it('the check judges the window since its baseline, and falls back to "unknown" (restart) without one', () => {
    let wait = 0;
    let gone = false;
    const check = createStarvationCheck({ read: () => (gone ? null : reading(wait, 1, 10)) });
    expect(check.markedAt()).toBeNull();
    expect(check.judge([7], 0)).toMatchObject({ kind: 'unknown', why: 'no baseline' });
    check.reset();
    check.mark([7], 1_000);
    wait = 8_000;
    check.mark([7], 5_000); // a later mark keeps the first baseline
    expect(check.markedAt()).toBe(1_000);
    expect(check.judge([7], 11_000)).toMatchObject({ kind: 'starved', windowMs: 10_000, waitMs: 8_000 });
    // the judgement started the next window
    expect(check.markedAt()).toBe(11_000);
    expect(check.judge([7], 21_000)).toMatchObject({ kind: 'stalled', waitMs: 0 });
    expect(check.judge([8], 31_000)).toMatchObject({ kind: 'unknown', why: 'the pipeline changed' });
    gone = true;
    expect(check.judge([8], 41_000)).toMatchObject({ kind: 'unknown', why: 'no schedstat for the pipeline' });
    check.mark([8], 42_000);
    expect(check.markedAt()).toBeNull();
  });
});

describe('procSchedReader on real processes', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it('tells processes starved on one CPU from a sleeping one, from /proc/<pid>/task/*/schedstat', async () => {
    const cpu = String(availableParallelism() - 1);
    // Three busy loops pinned to one CPU: each can run a third of the time at most and waits the rest.
    const busy = [0, 1, 2].map(() =>
      spawn('taskset', ['-c', cpu, process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' }),
    );
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(...busy, sleeper);
    const pids = (cs: ChildProcess[]) => cs.map((c) => c.pid!);
    const read = procSchedReader();
    // taskset execs node in the same pid; wait until every child is the final program
    await new Promise((r) => setTimeout(r, 300));
    const busyCheck = createStarvationCheck({ read });
    const sleepCheck = createStarvationCheck({ read });
    const t0 = Date.now();
    busyCheck.mark(pids(busy), t0);
    sleepCheck.mark(pids([sleeper]), t0);
    await new Promise((r) => setTimeout(r, 1_500));
    const t1 = Date.now();
    const b = busyCheck.judge(pids(busy), t1);
    const s = sleepCheck.judge(pids([sleeper]), t1);
    expect(b.kind).toBe('starved');
    expect(s).toMatchObject({ kind: 'stalled' });
    if (b.kind === 'unknown' || s.kind === 'unknown') throw new Error('no verdict');
    // the three together waited for about two CPUs' worth of the window, the sleeper for none
    expect(b.waitShare).toBeGreaterThan(1);
    expect(s.waitMs).toBeLessThan(b.waitMs / 100);
    expect(s.cpuMs).toBeLessThan(b.cpuMs / 100);
    expect(read(busy[0]!.pid!)!.runnable).toBe(1);
    expect(read(sleeper.pid!)!.runnable).toBe(0);
    // a process that is gone has no reading (the watchdog then restarts as without the check)
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    await new Promise((r) => setTimeout(r, 100));
    expect(read(sleeper.pid!)).toBeNull();
  });
});
