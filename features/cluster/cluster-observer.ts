/**
 * A read-only view of the cluster registry, for any node (a wall without the ingest role
 * included): the live nodes, what each reported owning at its last heartbeat, and how many
 * cameras nobody owns. Reads the registry the heartbeat script writes (lease-scripts.ts) and
 * judges ages on the Redis clock, as the nodes do; it never writes.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { redisOptionsFromUrl } from '../../core/redis/redis-url.js';
import type { ClusterConfig } from './cluster-config.js';
import type { ClusterNodeView } from './cluster.js';
import { clusterKeys, NodeInfoSchema } from './lease-scripts.js';
import { parseStored } from '../../core/redis/parse-stored.js';

export interface ClusterSnapshot {
  /** Redis time of the read, ms. */
  at: number;
  /** Live nodes (heartbeat younger than nodeTtlMs), by id. */
  nodes: ClusterNodeView[];
  camerasPerNode: Record<string, number>;
  /** Cameras in the shared list no live node reported owning. */
  unowned: number;
}

export interface ClusterObserver {
  snapshot(cameraCount: number): Promise<ClusterSnapshot>;
  close(): Promise<void>;
}

export function createClusterObserver(o: {
  config: ClusterConfig;
  redisUrl: string;
  redisOptions?: RedisOptions;
}): ClusterObserver {
  const keys = clusterKeys(o.config.prefix);
  const redis = new Redis({ ...redisOptionsFromUrl(o.redisUrl, o.redisOptions), lazyConnect: true });
  // Failures reach snapshot()'s caller; the event must not crash the process.
  redis.on('error', () => undefined);
  let closing: Promise<void> | null = null;
  return {
    async snapshot(cameraCount) {
      const [time, beats, infos] = await Promise.all([
        redis.time(),
        redis.zrange(keys.live, '0', '-1', 'WITHSCORES'),
        redis.hgetall(keys.info),
      ]);
      const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      const nodes: ClusterNodeView[] = [];
      for (let i = 0; i + 1 < beats.length; i += 2) {
        const id = beats[i]!;
        const ageMs = Math.max(0, now - Number(beats[i + 1]));
        if (ageMs > o.config.nodeTtlMs) continue;
        // A damaged or missing entry still shows the node as live, with nothing owned.
        const info = infos[id] === undefined ? null : parseStored(NodeInfoSchema, infos[id]);
        nodes.push({
          id,
          capacity: info?.ok ? info.value.capacity : 0,
          owned: info?.ok ? info.value.owned : 0,
          ageMs,
        });
      }
      nodes.sort((a, b) => (a.id < b.id ? -1 : 1));
      const camerasPerNode = Object.fromEntries(nodes.map((n) => [n.id, n.owned]));
      const owned = nodes.reduce((a, n) => a + n.owned, 0);
      return { at: now, nodes, camerasPerNode, unowned: Math.max(0, cameraCount - owned) };
    },
    close() {
      closing ??= (async () => {
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
