import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * var/models in the project, where scripts/fetch-models.sh puts model files. Found by walking up
 * to the project's package.json, so it is the same folder from the sources (tsx) and from
 * dist/ (node), whatever the working directory.
 */
export function defaultModelsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'gridwatch')
          return join(dir, 'var', 'models');
      } catch {
        // Not the project's package.json (or unreadable): keep walking up.
      }
    }
    const up = dirname(dir);
    if (up === dir) return join(process.cwd(), 'var', 'models');
    dir = up;
  }
}
