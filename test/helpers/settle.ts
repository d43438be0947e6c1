import { expect } from 'vitest';

/** How a promise ended within ms, or 'pending': a hang fails with a message, not the test timeout. */
export async function settle<T>(
  p: Promise<T>,
  ms: number,
): Promise<{ state: 'fulfilled'; value: T } | { state: 'rejected'; err: unknown } | { state: 'pending' }> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<{ state: 'pending' }>(
    (r) => (timer = setTimeout(() => r({ state: 'pending' }), ms)),
  );
  try {
    return await Promise.race([
      p.then(
        (value) => ({ state: 'fulfilled' as const, value }),
        (err: unknown) => ({ state: 'rejected' as const, err }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The same client answers `GET gw:k` with 'v' again within 15 s (it reconnects by itself; nothing is restarted). */
export async function expectBack(
  c: { get(key: string): Promise<string | null>; status: string },
  why: string,
  what = 'client',
): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last: unknown;
  while (Date.now() < deadline) {
    const r = await settle(c.get('gw:k'), 2_000);
    if (r.state === 'fulfilled') {
      expect(r.value, `${what} back after ${why}`).toBe('v');
      return;
    }
    last = r.state === 'rejected' ? r.err : 'a GET pending 2 s';
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${what} not back 15 s after ${why} (status ${c.status}); last: ${String(last)}`);
}
