import type { Redis } from 'ioredis';
import { leaseKey } from '../../core/contracts/fence.js';

export const cameraIds = (n: number) =>
  Array.from({ length: n }, (_, i) => `cam-${String(i).padStart(4, '0')}`);

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Owner node id of every camera's lease, read from Redis (the ground truth), null = free. */
export async function leaseOwners(
  redis: Redis,
  prefix: string,
  cams: string[],
): Promise<Map<string, string | null>> {
  const pipe = redis.pipeline();
  for (const c of cams) pipe.get(leaseKey(prefix, c));
  const res = (await pipe.exec()) ?? [];
  return new Map(cams.map((c, i) => [c, ((res[i]?.[1] as string | null) ?? null)?.split('/')[0] ?? null]));
}
