/**
 * Refreshes docs/img from a run of the wall's browser tests. The tests write screenshots to
 * test/.artifacts/screenshots only (a normal test run never touches tracked files); this
 * script runs them and copies the pictures over. `npm run screenshots`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'test', '.artifacts', 'screenshots');
const to = join(root, 'docs', 'img');

// Start empty, so a picture a test no longer takes is not copied from an older run.
rmSync(from, { recursive: true, force: true });
const run = spawnSync(
  'npx',
  [
    'vitest',
    'run',
    'test/wall/browser.test.ts',
    'test/wall/browser-actions.test.ts',
    // The operations views: version conflict, forwarding status, the split-screen wall.
    'test/wall/browser-conflict.test.ts',
    'test/wall/browser-forwarding.test.ts',
    'test/wall/browser-tiles.test.ts',
    // The grid map and statistics pages.
    'test/wall/map-browser.test.ts',
    'test/wall/stats-browser.test.ts',
  ],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (run.status !== 0) {
  process.stderr.write('screenshots: the browser tests failed; docs/img left as it was\n');
  process.exit(run.status ?? 1);
}
mkdirSync(to, { recursive: true });
const pictures = readdirSync(from).filter((f) => f.endsWith('.png'));
for (const f of pictures) copyFileSync(join(from, f), join(to, f));
process.stdout.write(`screenshots: ${pictures.length} copied to docs/img (${pictures.join(', ')})\n`);
