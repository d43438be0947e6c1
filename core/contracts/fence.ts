import { z } from 'zod';

/**
 * Fencing for camera leases (features/cluster). A node that owns a camera stamps each finding
 * with the epoch of its lease; every claim of the camera increments the epoch, so a node that
 * was paused past its lease (GC, a stopped VM) and wakes up carries an older token than the
 * camera's current owner and its findings can be dropped. This lives in core/ because the
 * producer (ingest, detectors) and the consumer (the dispatcher) are different features.
 */
export const FenceSchema = z
  .strictObject({
    token: z
      .number()
      .int()
      .nonnegative()
      .describe('Epoch of the camera lease the finding was produced under (grows with every claim)'),
    nodeId: z.string().min(1).max(64).describe('Node that held the lease'),
  })
  .describe('Lease fencing token of the node that produced the finding (cluster mode only)');
export type Fence = z.infer<typeof FenceSchema>;

/**
 * True when the finding was produced under an older lease than the camera's current one.
 * A finding without a fence (embedded mode, or a camera never claimed) is never stale, and
 * neither is any finding when the current token is unknown (null): fencing only drops what it
 * can prove old.
 */
export function isStale(finding: { fence?: Fence | undefined }, currentToken: number | null): boolean {
  if (!finding.fence || currentToken === null) return false;
  return finding.fence.token < currentToken;
}

/**
 * Redis key holding a camera's current epoch (an integer string, INCR'd by every claim; never
 * expires). The lease itself is `${prefix}:lease:{cameraId}`; both carry the same hash tag so
 * one script can touch both on Redis Cluster. `prefix` is the cluster config's `prefix`.
 */
export function fenceEpochKey(prefix: string, cameraId: string): string {
  return `${prefix}:epoch:{${cameraId}}`;
}

/** The lease key of a camera: value `nodeId/instance`, with a PX expiry. */
export function leaseKey(prefix: string, cameraId: string): string {
  return `${prefix}:lease:{${cameraId}}`;
}
