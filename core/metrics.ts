import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A registry per gateway instance (no prom-client global): tests start several gateways in
 * one process and each must count only its own work.
 */
export function createMetricsRegistry(opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'gridwatch_process_' });
  return registry;
}
