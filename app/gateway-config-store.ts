/**
 * A config store rooted at a gateway.yaml: reads the file once, then hands the store only the
 * paths and grid codes it needs. Used by the composition (build-gateway.ts), the tools and tests.
 */
import {
  createConfigStore,
  type ConfigStore,
  type ConfigStoreOptions,
} from '../core/config-store/config-store.js';
import { ConfigError } from '../core/errors.js';
import { configRootOf, loadGatewayFile, type LoadedGatewayConfig } from './gateway-file.js';
import type { GatewayConfig } from './gateway-schema.js';

export interface GatewayConfigStore extends ConfigStore {
  /** The parsed gateway.yaml (after load()). */
  readonly gateway: GatewayConfig;
}

export function createGatewayConfigStore(
  opts: Omit<ConfigStoreOptions, 'root'> & { gatewayFile: string; loaded?: LoadedGatewayConfig },
): GatewayConfigStore {
  let loaded = opts.loaded;
  const store = createConfigStore({
    ...opts,
    root: async () => {
      loaded ??= await loadGatewayFile(opts.gatewayFile);
      return configRootOf(loaded);
    },
  });
  // defineProperty, not Object.assign: assign would call the getter before load().
  return Object.defineProperty(store, 'gateway', {
    get(): GatewayConfig {
      if (!loaded) throw new ConfigError('config store: call load() first', []);
      return loaded.config;
    },
  }) as GatewayConfigStore;
}
