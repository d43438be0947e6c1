/**
 * `npm run bench`: every benchmark, one after another (never in parallel: they would measure
 * each other on a 2-core machine). Each writes its own section of bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';

const BENCHES = ['grid', 'ingest', 'detect', 'dispatch', 'wall', 'map'];
const only = process.argv.slice(2);
let failed = 0;
for (const name of BENCHES.filter((b) => only.length === 0 || only.includes(b))) {
  process.stdout.write(`\n=== bench:${name}\n`);
  const r = spawnSync('npm', ['run', '--silent', `bench:${name}`], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench:${name} failed with exit code ${r.status ?? r.signal}\n`);
  }
}
process.exit(failed ? 1 : 0);
