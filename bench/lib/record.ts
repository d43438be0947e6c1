import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One line naming the machine, so a figure is never read without its context. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  let ffmpeg = 'ffmpeg ?';
  try {
    ffmpeg = execFileSync('ffmpeg', ['-version']).toString().split('\n')[0]?.split(' Copyright')[0] ?? ffmpeg;
  } catch {
    ffmpeg = 'ffmpeg not found';
  }
  return `${new Date().toISOString()} · ${cpus().length} × ${cpu} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · Node ${process.version} · ${ffmpeg}`;
}

/**
 * Writes one benchmark's section (bench/results/NAME.md) and rebuilds bench/RESULTS.md
 * from all sections, so benchmarks run separately never overwrite each other's figures.
 */
export function recordResults(name: string, title: string, markdown: string): void {
  const dir = join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.md`),
    `## ${title}\n\n_Measured ${machineLine()}_\n\n${markdown.trim()}\n`,
  );
  const parts = readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').trim());
  writeFileSync(
    join(BENCH_DIR, 'RESULTS.md'),
    `# Benchmark results\n\nWritten by \`npm run bench\` (or one \`npm run bench:NAME\`). Each section names the machine and date it was measured on; ratios compare runs made in the same process on the same machine.\n\n${parts.join('\n\n')}\n`,
  );
}
