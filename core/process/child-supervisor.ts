import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { Codes, GridwatchError } from '../errors.js';

/**
 * States of a supervised child. `idle` before start(); `starting` while the child runs but has
 * not answered its probe; `running` once it has; `backoff` after it died, until the next spawn;
 * `stopping` from close() until the child is gone (or the bound has passed); `stopped` for good.
 */
export type ChildState = 'idle' | 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

/** Every allowed transition, as data: anything else is a bug and throws. */
export const CHILD_TRANSITIONS: Readonly<Record<ChildState, readonly ChildState[]>> = {
  idle: ['starting', 'stopped'],
  // A first start that fails goes straight to `stopped` (start() rejects); later ones back off.
  starting: ['running', 'backoff', 'stopping', 'stopped'],
  running: ['backoff', 'stopping'],
  backoff: ['starting', 'stopping'],
  stopping: ['stopped'],
  stopped: [],
};

export interface ChildSupervisorOptions {
  /** Short name for logs and metrics, e.g. `redis-server`. */
  name: string;
  command: string;
  /** Same arguments on every restart (same port, same data directory). Never a secret. */
  args: readonly string[];
  spawnOptions?: SpawnOptions;
  logger: Logger;
  /** Resolves true once the child serves (e.g. answers PING); polled every 50 ms while starting. */
  probe: () => Promise<boolean>;
  startTimeoutMs?: number;
  /** Restart delays: initialMs, doubled per failed attempt up to maxMs; reset once up for resetAfterMs. */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** Polite stop tried first (e.g. Redis SHUTDOWN, which flushes the AOF); then SIGTERM, then SIGKILL. */
  gracefulStop?: () => Promise<void>;
  /** close() always resolves within this bound, whatever the child does (default 10 s). */
  stopTimeoutMs?: number;
  metrics?: Registry;
  /**
   * Called with each new child right after it is spawned (first start and every restart),
   * before the probe: e.g. to send its config over IPC (`stdio` with `'ipc'`) and listen to it.
   */
  onSpawn?: (child: ChildProcess) => void;
}

export interface ChildSupervisor {
  state(): ChildState;
  /** True only in `running`: readiness reports false while the child is down or restarting. */
  up(): boolean;
  pid(): number | undefined;
  /** Unexpected exits seen since start. */
  restarts(): number;
  /** Last few KB of the child's stdout/stderr (for error messages). */
  output(): string;
  onState(cb: (to: ChildState, from: ChildState) => void): () => void;
  /** Spawns the child and resolves once its probe answers; rejects (and stops) if the first start fails. */
  start(): Promise<void>;
  /** Memoised; ends within stopTimeoutMs. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One supervisor for every long-lived child process: an exit is noticed and logged at once,
 * the child is restarted with backoff on the same arguments, `up()` is false while it is down,
 * and close() ends within a bound (graceful stop, SIGTERM, SIGKILL) in any state.
 */
export function createChildSupervisor(o: ChildSupervisorOptions): ChildSupervisor {
  const log = o.logger.child({ component: 'child-supervisor', child: o.name });
  const startTimeoutMs = o.startTimeoutMs ?? 10_000;
  const initialMs = o.backoff?.initialMs ?? 100;
  const maxMs = o.backoff?.maxMs ?? 5_000;
  const resetAfterMs = o.backoff?.resetAfterMs ?? 10_000;
  const stopTimeoutMs = o.stopTimeoutMs ?? 10_000;

  let state: ChildState = 'idle';
  let child: ChildProcess | null = null;
  let childExited: Promise<void> = Promise.resolve();
  let restartCount = 0;
  let attempt = 0;
  let upSince = 0;
  let backoffTimer: NodeJS.Timeout | null = null;
  let out = '';
  const listeners = new Set<(to: ChildState, from: ChildState) => void>();

  const mUp = o.metrics
    ? ((o.metrics.getSingleMetric('gridwatch_child_up') as Gauge | undefined) ??
      new Gauge({
        name: 'gridwatch_child_up',
        help: 'Supervised child processes: 1 while running and answering its probe, 0 otherwise',
        labelNames: ['child'],
        registers: [o.metrics],
      }))
    : null;
  const mRestarts = o.metrics
    ? ((o.metrics.getSingleMetric('gridwatch_child_restarts_total') as Counter | undefined) ??
      new Counter({
        name: 'gridwatch_child_restarts_total',
        help: 'Unexpected exits of supervised child processes (each followed by a restart)',
        labelNames: ['child'],
        registers: [o.metrics],
      }))
    : null;

  function to(next: ChildState): void {
    if (!CHILD_TRANSITIONS[state].includes(next))
      throw new GridwatchError(Codes.GW_INTERNAL, `${o.name}: no transition ${state} -> ${next}`);
    const from = state;
    state = next;
    mUp?.set({ child: o.name }, next === 'running' ? 1 : 0);
    for (const cb of listeners) cb(next, from);
  }

  // A gateway that exits without close() (uncaught error) must not leave the child behind.
  const killOnExit = () => {
    child?.kill('SIGKILL');
  };

  function spawnChild(): ChildProcess {
    const c = spawn(o.command, [...o.args], { stdio: ['ignore', 'pipe', 'pipe'], ...o.spawnOptions });
    out = ''; // the current child's output only
    const collect = (b: Buffer) => {
      out = (out + b.toString()).slice(-4_000);
    };
    c.stdout?.on('data', collect);
    c.stderr?.on('data', collect);
    // An IPC channel that breaks when the child dies must not throw in the parent.
    c.on('error', () => {});
    o.onSpawn?.(c);
    childExited = new Promise<void>((res) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
        if (done) return;
        done = true;
        res();
        onExit(c, code, signal, err);
      };
      c.once('exit', (code, signal) => finish(code, signal));
      // spawn failures (ENOENT, EACCES) give 'error' and maybe no 'exit'.
      c.once('error', (err) => finish(null, null, err));
    });
    child = c;
    return c;
  }

  function onExit(c: ChildProcess, code: number | null, signal: NodeJS.Signals | null, err?: Error): void {
    if (child === c) child = null;
    if (state === 'running') {
      restartCount++;
      mRestarts?.inc({ child: o.name });
      const ranMs = Date.now() - upSince;
      if (ranMs >= resetAfterMs) attempt = 0;
      const delay = nextDelay();
      // One line per exit, at once: the operator sees what died and when it comes back.
      log.error(
        {
          pid: c.pid,
          code,
          signal,
          err,
          ranMs,
          restarts: restartCount,
          restartInMs: delay,
          output: out.trim().slice(-500),
        },
        `${o.name} exited unexpectedly; restarting`,
      );
      to('backoff');
      scheduleRestart(delay);
    }
    // In `starting`, the start loop notices the exit itself; in `stopping`, the exit is expected.
  }

  function nextDelay(): number {
    const d = Math.min(maxMs, initialMs * 2 ** attempt);
    attempt++;
    return d;
  }

  function scheduleRestart(delay: number): void {
    backoffTimer = setTimeout(() => {
      backoffTimer = null;
      if (state !== 'backoff') return;
      attemptStart().then(
        () => log.info({ pid: child?.pid, restarts: restartCount }, `${o.name} restarted`),
        (e: unknown) => {
          if (state !== 'starting') return; // close() came in meanwhile
          const d = nextDelay();
          log.error({ err: e, restartInMs: d }, `${o.name} restart failed; retrying`);
          to('backoff');
          scheduleRestart(d);
        },
      );
    }, delay);
  }

  /** Spawns and waits for the probe. Leaves state `running` on success, `starting` on failure. */
  async function attemptStart(): Promise<void> {
    to('starting');
    const c = spawnChild();
    let exited = false;
    void childExited.then(() => (exited = true));
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if ((state as ChildState) !== 'starting')
        throw new GridwatchError(Codes.GW_NOT_READY, `${o.name}: stopped while starting`);
      if (exited)
        throw new GridwatchError(
          Codes.GW_CHILD_START,
          `${o.name} exited at start: ${out.trim().slice(-1_000)}`,
        );
      if (await o.probe().catch(() => false)) break;
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        await childExited;
        throw new GridwatchError(
          Codes.GW_CHILD_START,
          `${o.name} did not answer within ${startTimeoutMs} ms: ${out.trim().slice(-1_000)}`,
        );
      }
      await sleep(50);
    }
    if ((state as ChildState) !== 'starting')
      throw new GridwatchError(Codes.GW_NOT_READY, `${o.name}: stopped while starting`);
    upSince = Date.now();
    to('running');
  }

  async function stopChild(): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = childExited;
    const boundTimer = { t: undefined as NodeJS.Timeout | undefined };
    const bound = new Promise<'timeout'>(
      (r) => (boundTimer.t = setTimeout(() => r('timeout'), stopTimeoutMs)),
    );
    const until = (ms: number) =>
      Promise.race([exited.then(() => 'exited' as const), sleep(ms).then(() => 'wait' as const)]);
    // Budget: 40 % for the polite stop, 30 % after SIGTERM, the rest after SIGKILL.
    const run = (async () => {
      if (o.gracefulStop) {
        const polite = o
          .gracefulStop()
          .catch((err: unknown) => log.warn({ err }, `${o.name} graceful stop failed`));
        const politeEnd = Date.now() + stopTimeoutMs * 0.4;
        await Promise.race([polite, exited, sleep(stopTimeoutMs * 0.4)]);
        if ((await until(Math.max(0, politeEnd - Date.now()))) === 'exited') return;
      }
      c.kill('SIGTERM');
      if ((await until(stopTimeoutMs * 0.3)) === 'exited') return;
      log.warn({ pid: c.pid }, `${o.name} ignored SIGTERM; sending SIGKILL`);
      c.kill('SIGKILL');
      await exited;
    })();
    if ((await Promise.race([run.then(() => 'done' as const), bound])) === 'timeout') {
      c.kill('SIGKILL');
      log.error(
        { pid: c.pid, boundMs: stopTimeoutMs },
        `${o.name} did not exit within the bound; giving up on it`,
      );
    }
    clearTimeout(boundTimer.t);
  }

  let starting: Promise<void> | null = null;
  let closing: Promise<void> | null = null;
  return {
    state: () => state,
    up: () => state === 'running',
    pid: () => child?.pid,
    restarts: () => restartCount,
    output: () => out,
    onState(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    start() {
      starting ??= (async () => {
        process.once('exit', killOnExit);
        try {
          await attemptStart();
        } catch (err) {
          if (state === 'starting') to('stopped');
          process.removeListener('exit', killOnExit);
          throw err;
        }
        log.info({ pid: child?.pid }, `${o.name} started`);
      })();
      return starting;
    },
    close() {
      closing ??= (async () => {
        if (backoffTimer) clearTimeout(backoffTimer);
        backoffTimer = null;
        if (state === 'stopped') return;
        if (state === 'idle') {
          to('stopped');
          return;
        }
        to('stopping');
        await stopChild();
        to('stopped');
        process.removeListener('exit', killOnExit);
        log.info(`${o.name} stopped`);
      })();
      return closing;
    },
  };
}
