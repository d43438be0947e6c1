/**
 * Copies what tsc does not emit into dist/: plugin manifests (the loader reads them next to the
 * compiled entry) and the wall's static page. Run by `npm run build` after tsc.
 */
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// From dist/scripts/ the repository root is two levels up; from scripts/ (tsx) one.
const root = resolve(here, basename(dirname(here)) === 'dist' ? '../..' : '..');
const dist = join(root, 'dist');

const plugins = join(root, 'features', 'detectors', 'plugins');
for (const name of readdirSync(plugins)) {
  const manifest = join(plugins, name, 'gridwatch-plugin.json');
  if (existsSync(manifest))
    cpSync(manifest, join(dist, 'features', 'detectors', 'plugins', name, 'gridwatch-plugin.json'));
}
cpSync(join(root, 'features', 'wall', 'public'), join(dist, 'features', 'wall', 'public'), {
  recursive: true,
});
cpSync(join(root, 'features', 'workers', 'public'), join(dist, 'features', 'workers', 'public'), {
  recursive: true,
});
process.stdout.write('assets copied to dist/\n');
