import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendResult {
  backend: string;
  /** Why the preferred backends were not used (empty when the first choice worked). */
  fallbacks: string[];
}

const require = createRequire(import.meta.url);

/**
 * Picks the fastest backend that works here. tfjs-node is optional and usually absent
 * (it downloads libtensorflow at install), so it is imported dynamically and its absence is a
 * reported fallback, not an error.
 */
export async function initBackend(choice: BackendChoice): Promise<BackendResult> {
  const fallbacks: string[] = [];
  const order: Array<'tensorflow' | 'wasm' | 'cpu'> =
    choice === 'auto' || choice === 'tensorflow'
      ? ['tensorflow', 'wasm', 'cpu']
      : choice === 'wasm'
        ? ['wasm', 'cpu']
        : ['cpu'];
  for (const b of order) {
    try {
      if (b === 'tensorflow') {
        // A variable specifier keeps TypeScript from requiring the optional package's types.
        const name = '@tensorflow/tfjs-node';
        await import(name);
      } else if (b === 'wasm') {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        // In Node the wasm files must come from disk: the default would be fetched relative to a URL.
        const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        wasm.setWasmPaths(`${dist}/`);
      }
      const ok = await tf.setBackend(b);
      if (!ok) throw new Error(`tf.setBackend('${b}') returned false`);
      await tf.ready();
      return { backend: tf.getBackend(), fallbacks };
    } catch (err) {
      fallbacks.push(`${b}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  throw new Error(`no TF.js backend works: ${fallbacks.join('; ')}`);
}
