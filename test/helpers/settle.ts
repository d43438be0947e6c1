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
