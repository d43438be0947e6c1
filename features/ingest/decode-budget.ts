import { ClosedError } from '../../core/errors.js';

export interface BudgetRequest {
  cameraId: string;
  /** Holds an ffmpeg process while leased (persistent and burst modes). */
  ffmpeg: boolean;
  /** Decodes per second this lease adds (1 / sampling interval for persistent; 0 for a burst). */
  rate: number;
  /** Higher goes first: cameras whose rules are in their schedule window ask with 1. */
  priority: number;
}

export interface Lease {
  release(): void;
}

export interface DecodeBudget {
  acquire(req: BudgetRequest, signal?: AbortSignal): Promise<Lease>;
  /** For bursts and snapshots: waits until one more decode fits the per-second rate. */
  takeDecode(signal?: AbortSignal): Promise<void>;
  stats(): { ffmpeg: number; rate: number; waiting: number };
  close(): void;
}

interface Waiter {
  req: BudgetRequest;
  seq: number;
  resolve(l: Lease): void;
  reject(e: unknown): void;
}

/**
 * The per-node budget: at most `maxFfmpeg` sampler processes and `maxDecodesPerSec` decodes,
 * granted in priority order, one grant per `staggerMs` so that a boot or a network blip does
 * not make 2,000 cameras connect in the same second.
 */
export function createDecodeBudget(opts: {
  maxFfmpeg: number;
  maxDecodesPerSec: number;
  staggerMs: number;
}): DecodeBudget {
  let ffmpeg = 0;
  let rate = 0;
  let seq = 0;
  let closed = false;
  let lastGrant = 0;
  let timer: NodeJS.Timeout | null = null;
  const waiting: Waiter[] = [];
  // Token bucket for one-off decodes (bursts, snapshots), refilled at the budget left over by
  // persistent streams.
  let tokens = 1;
  let tokensAt = Date.now();
  const tokenWaiters: { resolve(): void; reject(e: unknown): void }[] = [];

  const fits = (r: BudgetRequest) =>
    (!r.ffmpeg || ffmpeg < opts.maxFfmpeg) && rate + r.rate <= opts.maxDecodesPerSec + 1e-9;

  function pump(): void {
    if (timer || closed) return;
    waiting.sort((a, b) => b.req.priority - a.req.priority || a.seq - b.seq);
    const idx = waiting.findIndex((w) => fits(w.req));
    if (idx >= 0) {
      const wait = lastGrant + opts.staggerMs - Date.now();
      if (wait > 0) {
        timer = setTimeout(() => {
          timer = null;
          pump();
        }, wait);
        return;
      }
      const [w] = waiting.splice(idx, 1);
      grant(w!);
      pump();
      return;
    }
    refillTokens();
    if (tokenWaiters.length) {
      if (tokens >= 1) {
        tokens -= 1;
        tokenWaiters.shift()!.resolve();
        pump();
        return;
      }
      const spare = Math.max(0.1, opts.maxDecodesPerSec - rate);
      timer = setTimeout(
        () => {
          timer = null;
          pump();
        },
        Math.ceil(((1 - tokens) / spare) * 1000),
      );
    }
  }

  function refillTokens(): void {
    const now = Date.now();
    const spare = Math.max(0.1, opts.maxDecodesPerSec - rate);
    tokens = Math.min(Math.max(1, spare), tokens + ((now - tokensAt) / 1000) * spare);
    tokensAt = now;
  }

  function grant(w: Waiter): void {
    lastGrant = Date.now();
    if (w.req.ffmpeg) ffmpeg++;
    rate += w.req.rate;
    let released = false;
    w.resolve({
      release() {
        if (released) return;
        released = true;
        if (w.req.ffmpeg) ffmpeg--;
        rate -= w.req.rate;
        pump();
      },
    });
  }

  return {
    acquire(req, signal) {
      if (closed) return Promise.reject(new ClosedError('decode budget'));
      return new Promise<Lease>((resolve, reject) => {
        const onAbort = () => {
          const i = waiting.indexOf(w);
          if (i >= 0) {
            waiting.splice(i, 1);
            reject(signal?.reason);
          }
        };
        const w: Waiter = {
          req,
          seq: seq++,
          resolve: (l) => (signal?.removeEventListener('abort', onAbort), resolve(l)),
          reject: (e) => (signal?.removeEventListener('abort', onAbort), reject(e)),
        };
        waiting.push(w);
        signal?.addEventListener('abort', onAbort, { once: true });
        pump();
      });
    },
    takeDecode(signal) {
      if (closed) return Promise.reject(new ClosedError('decode budget'));
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = tokenWaiters.indexOf(w);
          if (i >= 0) {
            tokenWaiters.splice(i, 1);
            reject(signal?.reason);
          }
        };
        const w = {
          resolve: () => (signal?.removeEventListener('abort', onAbort), resolve()),
          reject: (e: unknown) => (signal?.removeEventListener('abort', onAbort), reject(e)),
        };
        tokenWaiters.push(w);
        signal?.addEventListener('abort', onAbort, { once: true });
        pump();
      });
    },
    stats: () => ({ ffmpeg, rate, waiting: waiting.length + tokenWaiters.length }),
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of waiting.splice(0)) w.reject(new ClosedError('decode budget'));
      for (const w of tokenWaiters.splice(0)) w.reject(new ClosedError('decode budget'));
    },
  };
}
