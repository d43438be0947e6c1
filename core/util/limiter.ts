/**
 * At most `max` holders at once; the rest wait in arrival order. The one concurrency limit of
 * gridwatch (snapshot requests and decodes, findings in flight).
 *
 * A released slot is handed to the first waiter directly rather than freed and re-taken: with
 * "decrement, then wake a waiter", a caller arriving before the woken waiter's continuation runs
 * sees a free slot too, and max + 1 run at once (the snapshot decode limit did this).
 */
export interface Limiter {
  /**
   * Resolves with this holder's release (idempotent) once a slot is its own. An abort while
   * waiting leaves the queue and rejects with `abortError()` (default: the signal's reason).
   */
  acquire(signal?: AbortSignal, abortError?: () => unknown): Promise<() => void>;
  /** acquire, run fn, release (also when fn throws). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Rejects every waiter with `err` (for close()); holders keep their slots. */
  rejectWaiting(err: unknown): void;
  /** Holders now (never above max). */
  readonly active: number;
  readonly waiting: number;
}

export function createLimiter(max: number): Limiter {
  if (!(max >= 1)) throw new RangeError(`limiter max must be at least 1, got ${max}`);
  let active = 0;
  const queue: Array<() => void> = [];
  const refusals = new Map<() => void, (err: unknown) => void>();

  const releaser = () => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = queue.shift();
      if (next) next();
      else active--;
    };
  };

  const acquire: Limiter['acquire'] = (signal, abortError) => {
    const refusal = () => (abortError ? abortError() : signal?.reason);
    if (signal?.aborted) return Promise.reject(refusal());
    if (active < max) {
      active++;
      return Promise.resolve(releaser());
    }
    return new Promise((resolve, reject) => {
      const leave = () => {
        signal?.removeEventListener('abort', onAbort);
        refusals.delete(go);
        const i = queue.indexOf(go);
        if (i >= 0) queue.splice(i, 1);
      };
      const go = () => {
        leave();
        resolve(releaser());
      };
      const onAbort = () => {
        leave();
        reject(refusal());
      };
      queue.push(go);
      refusals.set(go, (err) => {
        leave();
        reject(err);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  };

  return {
    acquire,
    async run(fn) {
      const release = await acquire();
      try {
        return await fn();
      } finally {
        release();
      }
    },
    rejectWaiting(err) {
      for (const refuse of [...refusals.values()]) refuse(err);
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
  };
}
