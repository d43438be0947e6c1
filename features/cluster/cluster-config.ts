import { z } from 'zod';

/** `cluster:` section of gateway.yaml. Owned by the cluster feature. */
export const ClusterConfigSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Share the cameras among every ingest node on the same Redis; off = this node runs every camera',
      ),
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'an id of 1 to 64 letters, digits, _, . or -')
      .optional()
      .describe(
        'Stable name of this node (placement hashes on it, so a restarted node gets its own cameras back); default: the host name',
      ),
    capacity: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(200)
      .describe('Most cameras this node holds; also its placement weight'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9:{}_-]{1,64}$/)
      .default('gw:cluster')
      .describe(
        'Redis key prefix; every lease script touches keys of one camera hash tag, so it runs on Redis Cluster',
      ),
    heartbeatMs: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(1_000)
      .describe('How often a node heartbeats, renews its leases and re-checks placement'),
    nodeTtlMs: z
      .number()
      .int()
      .min(300)
      .max(600_000)
      .default(4_000)
      .describe('A node whose last heartbeat is older than this is dead'),
    leaseTtlMs: z
      .number()
      .int()
      .min(300)
      .max(600_000)
      .default(4_000)
      .describe('Camera lease lifetime; a dead node’s cameras are free after at most this'),
    evidence: z
      .strictObject({
        store: z
          .enum(['dir', 'redis'])
          .default('dir')
          .describe(
            'dir: files in `dir` (give every node the same shared directory, e.g. an NFS mount); redis: in the shared Redis, expiring after retention.evidenceDays',
          ),
        dir: z
          .string()
          .min(1)
          .optional()
          .describe('Evidence directory for store dir, relative to gateway.yaml; default <dataDir>/evidence'),
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9:_-]{1,64}$/)
          .default('gw:evidence')
          .describe('Redis key prefix for store redis'),
      })
      .default({ store: 'dir', prefix: 'gw:evidence' })
      .describe(
        'Where evidence images are kept, so a wall on any node can show what a node on another wrote (docs/deployment.md)',
      ),
  })
  .refine((c) => c.leaseTtlMs >= 2 * c.heartbeatMs && c.nodeTtlMs >= 2 * c.heartbeatMs, {
    message: 'leaseTtlMs and nodeTtlMs must be at least twice heartbeatMs (one renewal may be late)',
    path: ['leaseTtlMs'],
  })
  .describe('Camera ownership by Redis lease across ingest nodes (docs/deployment.md)');
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;
