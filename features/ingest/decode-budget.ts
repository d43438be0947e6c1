import { ClosedError } from '../../core/errors.js';

export interface BudgetRequest {
  cameraId: string;
  /** Holds an ffmpeg process while leased (persistent and burst modes). */
  ffmpeg: boolean;
  /** Decodes per second this lease adds while held; decode shares (share()) are the usual way. */
  rate: number;
  /** Higher goes first: cameras whose rules are in their schedule window ask with 1. */
  priority: number;
}

/** A camera's standing claim on the node's decode rate, for as long as it runs. */
export interface ShareRequest {
  cameraId: string;
  /** Decodes per second at the configured interval (every frame's rate when decoding all). */
  rate: number;
  /** 1: rules in their schedule window (stretched last); 0: stretched first. */
  priority: number;
}

export interface DecodeShare {
  /** Factor on the camera's interval the budget allows now (1 = as configured), from STRETCH_STEPS. */
  stretch(): number;
  update(req: Partial<Pick<ShareRequest, 'rate' | 'priority'>>): void;
  release(): void;
}

/**
 * Interval factors a share moves between. Steps rather than a continuous factor, so that cameras
 * coming and going do not restart every persistent pipeline for a few per cent.
 */
export const STRETCH_STEPS = [1, 1.5, 2, 3, 4, 6] as const;

export interface Lease {
  release(): void;
}

export interface DecodeBudget {
  acquire(req: BudgetRequest, signal?: AbortSignal): Promise<Lease>;
  /** For bursts and snapshots: waits until one more decode fits the per-second rate. */
  takeDecode(signal?: AbortSignal): Promise<void>;
  /** Registers a camera's decode demand; the budget stretches intervals when the sum exceeds it. */
  share(req: ShareRequest): DecodeShare;
  stats(): {
    ffmpeg: number;
    rate: number;
    waiting: number;
    /** Sum of the shares' rates at their configured intervals. */
    demand: number;
    /** Sum of the shares' rates at their stretched intervals. */
    granted: number;
    /** Shares running at a stretched interval. */
    stretched: number;
  };
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
  const shares = new Set<{ req: ShareRequest; stretch: number }>();

  /** Smallest step whose factor brings `rate` down to `target` (the last step if none does). */
  const stepFor = (rate: number, target: number) =>
    STRETCH_STEPS.find((f) => rate / f <= target + 1e-9) ?? STRETCH_STEPS[STRETCH_STEPS.length - 1]!;

  /**
   * Two-tier fill: priority-1 demand is served first at full rate; what is left is shared by the
   * priority-0 cameras, stretched by one common step. Only when priority-1 demand alone exceeds
   * the budget are those stretched too (and priority 0 goes to the longest step). Stretching is
   * capped at the last step: beyond it the node is over budget and the lag shows it.
   */
  function rebalance(): void {
    const B = opts.maxDecodesPerSec;
    let high = 0;
    let low = 0;
    for (const s of shares) {
      if (s.req.priority > 0) high += s.req.rate;
      else low += s.req.rate;
    }
    const highStep = stepFor(high, B);
    const left = Math.max(0, B - high / highStep);
    const lowStep = highStep > 1 ? STRETCH_STEPS[STRETCH_STEPS.length - 1]! : stepFor(low, left);
    for (const s of shares) s.stretch = s.req.priority > 0 ? highStep : lowStep;
  }

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
    share(req) {
      if (closed) throw new ClosedError('decode budget');
      const entry = { req: { ...req }, stretch: 1 };
      shares.add(entry);
      rebalance();
      return {
        stretch: () => entry.stretch,
        update(r) {
          if (!shares.has(entry)) return;
          entry.req = { ...entry.req, ...r };
          rebalance();
        },
        release() {
          if (shares.delete(entry)) rebalance();
        },
      };
    },
    stats() {
      let demand = 0;
      let granted = 0;
      let stretched = 0;
      for (const s of shares) {
        demand += s.req.rate;
        granted += s.req.rate / s.stretch;
        if (s.stretch > 1) stretched++;
      }
      return { ffmpeg, rate, waiting: waiting.length + tokenWaiters.length, demand, granted, stretched };
    },
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of waiting.splice(0)) w.reject(new ClosedError('decode budget'));
      for (const w of tokenWaiters.splice(0)) w.reject(new ClosedError('decode budget'));
    },
  };
}
