import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../core/util/limiter.js';

const flush = () => new Promise((r) => setImmediate(r));

describe('the concurrency limiter', () => {
  it('hands a released slot to the first waiter: a caller arriving meanwhile waits (never max + 1)', async () => {
    const l = createLimiter(1);
    const releaseA = await l.acquire();
    const order: string[] = [];
    const w = l.acquire().then((r) => (order.push('w'), r));
    releaseA();
    // Arrives after the release, before the waiter's continuation has run.
    const b = l.acquire().then((r) => (order.push('b'), r));
    await flush();
    expect(order).toEqual(['w']);
    expect(l.active).toBe(1);
    expect(l.waiting).toBe(1);
    (await w)();
    await flush();
    expect(order).toEqual(['w', 'b']);
    (await b)();
    expect(l.active).toBe(0);
  });

  it('run() never has more than max at once under a burst, and frees the slot when fn throws', async () => {
    const l = createLimiter(3);
    let now = 0;
    let peak = 0;
    const job = async (i: number) => {
      now++;
      peak = Math.max(peak, now);
      await flush();
      now--;
      if (i % 7 === 0) throw new Error(`job ${i}`);
      return i;
    };
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => l.run(() => job(i))));
    expect(peak).toBe(3);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(8);
    expect(l.active).toBe(0);
  });

  it('an abort while waiting leaves the queue with the given error; rejectWaiting refuses every waiter; release is idempotent', async () => {
    const l = createLimiter(1);
    const release = await l.acquire();
    const ac = new AbortController();
    const aborted = l.acquire(ac.signal, () => new Error('stopped while waiting'));
    const other = l.acquire();
    ac.abort();
    await expect(aborted).rejects.toThrow('stopped while waiting');
    expect(l.waiting).toBe(1);
    l.rejectWaiting(new Error('closed'));
    await expect(other).rejects.toThrow('closed');
    release();
    release();
    expect(l.active).toBe(0);
    await expect(l.acquire(ac.signal, () => new Error('already aborted'))).rejects.toThrow('already aborted');
    expect(() => createLimiter(0)).toThrow(RangeError);
  });
});
