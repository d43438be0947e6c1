import type { Redis } from 'ioredis';
import { leaseKey } from '../../core/contracts/fence.js';

export const cameraIds = (n: number) =>
  Array.from({ length: n }, (_, i) => `cam-${String(i).padStart(4, '0')}`);

export { waitFor } from '../helpers/wait-for.js';

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
