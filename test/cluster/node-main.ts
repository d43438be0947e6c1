/**
 * One cluster node as its own process, for the cluster test and benchmark: the cluster feature
 * only, with cheap fake cameras (ids; ownership needs no video). Reports its owned cameras to
 * the parent over IPC after every change; SIGTERM is a clean leave.
 *   env GW_REDIS_URL, GW_NODE_ID, GW_CAMERAS (count), GW_CAPACITY, GW_PREFIX,
 *       GW_HEARTBEAT_MS / GW_TTL_MS (optional, defaults of the config schema)
 */
import pino from 'pino';
import { createMetricsRegistry } from '../../core/metrics.js';
import { createCluster } from '../../features/cluster/cluster.js';
import { ClusterConfigSchema } from '../../features/cluster/cluster-config.js';
import { cameraIds } from './support.js';

const env = process.env;
const config = ClusterConfigSchema.parse({
  enabled: true,
  prefix: env.GW_PREFIX ?? 'gw:cluster',
  ...(env.GW_HEARTBEAT_MS ? { heartbeatMs: Number(env.GW_HEARTBEAT_MS) } : {}),
  ...(env.GW_TTL_MS ? { nodeTtlMs: Number(env.GW_TTL_MS), leaseTtlMs: Number(env.GW_TTL_MS) } : {}),
});
const cluster = createCluster({
  config,
  redisUrl: env.GW_REDIS_URL!,
  logger: pino({ level: 'warn' }, pino.destination(2)),
  metrics: createMetricsRegistry({ defaultMetrics: false }),
  nodeId: env.GW_NODE_ID!,
  capacity: Number(env.GW_CAPACITY ?? 10_000),
});
cluster.update(cameraIds(Number(env.GW_CAMERAS ?? 100)));
const report = () => process.send?.({ node: cluster.nodeId, owned: [...cluster.owned()], at: Date.now() });
cluster.onChange(report);
await cluster.start();
report();
process.on('message', (m: unknown) => {
  if (m === 'report') report();
});
process.on('SIGTERM', () => {
  cluster.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
