/**
 * Cluster mode in the composition: which cameras this node's ingest runs, and the fencing
 * token stamped on the findings it raises. Absent (null) when `cluster.enabled` is false or
 * the process has no ingest role: then every camera runs here, as in the embedded default.
 */
import type { RedisOptions } from 'ioredis';
import type { Registry } from 'prom-client';
import type { LoadedCamera } from '../core/contracts/loaded-camera.js';
import type { FindingSink } from '../core/contracts/finding.js';
import type { Logger } from '../core/logger.js';
import { createCluster, type Cluster } from '../features/cluster/cluster.js';
import type { ClusterConfig } from '../features/cluster/cluster-config.js';

export interface ClusterWiring {
  cluster: Cluster;
  /** The cameras of `all` this node owns now. */
  owned(all: readonly LoadedCamera[]): LoadedCamera[];
  /**
   * Stamps each finding with the token of the lease its camera was (last) held under here; a
   * finding finished after a handover keeps the old token, so the dispatcher's isStale drops it.
   */
  fenced(sink: FindingSink): FindingSink;
  /** Re-applies `apply` whenever ownership changes; returns the unsubscribe. */
  onChange(apply: () => void): () => void;
}

export function createClusterWiring(o: {
  config: ClusterConfig;
  redisUrl: string;
  redisOptions: RedisOptions;
  logger: Logger;
  metrics: Registry;
}): ClusterWiring {
  const cluster = createCluster(o);
  const lastToken = new Map<string, number>();
  cluster.onChange((_owned, change) => {
    for (const cam of change.added) {
      const t = cluster.token(cam);
      if (t !== null) lastToken.set(cam, t);
    }
  });
  return {
    cluster,
    owned(all) {
      const mine = cluster.owned();
      return all.filter((c) => mine.has(c.id));
    },
    fenced: (sink) => ({
      submit(f) {
        const token = lastToken.get(f.cameraId);
        return sink.submit(token === undefined ? f : { ...f, fence: { token, nodeId: cluster.nodeId } });
      },
    }),
    onChange: (apply) => cluster.onChange(() => apply()),
  };
}
