/**
 * Layering check (npm run check:layers, run by CI): prints every import that breaks the
 * layers and the count, and exits 1 unless it is 0.
 *   - core/ (the foundation) imports nothing from features/ or app/;
 *   - a feature (features/<name>/) imports core/ and itself, never another feature;
 *   - only app/ (the composition) imports features; scripts/, bench/ and test/ are tools on top;
 *   - no cycle between folders of core/, features/ and app/.
 */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, here.endsWith(join('dist', 'scripts')) ? '../..' : '..');
const LAYERED = ['core', 'features', 'app'];

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'node_modules' || e.name === 'vendor') continue;
      out.push(...(await sources(rel)));
    } else if (/\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Relative import specifiers of a file: static, dynamic, re-exports, `import type`. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[2]!);
  return out;
}

/** The layer unit a file belongs to: core, features/<name>, app, or null (outside the layers). */
export function unitOf(file: string): string | null {
  const parts = file.split('/');
  if (parts[0] === 'core' || parts[0] === 'app') return parts[0];
  if (parts[0] === 'features' && parts.length > 2) return `features/${parts[1]}`;
  return null;
}

export function violation(from: string, to: string): string | null {
  const a = unitOf(from);
  const b = unitOf(to);
  if (a === null) return null;
  if (b === null) return `${a} imports ${to}, outside core/, features/ and app/`;
  if (a === 'core' && b !== 'core') return `the foundation imports ${b}`;
  if (a.startsWith('features/') && b.startsWith('features/') && a !== b) return `${a} imports ${b}`;
  if (a.startsWith('features/') && b === 'app') return `${a} imports the composition`;
  return null;
}

/** Folder-level cycles (strongly connected components of more than one folder). */
export function folderCycles(edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

async function main(): Promise<void> {
  const files = (await Promise.all(LAYERED.map(sources))).flat();
  const problems: string[] = [];
  const edges = new Map<string, Set<string>>();
  for (const f of files) {
    for (const spec of importsOf(readFileSync(join(ROOT, f), 'utf8'))) {
      const target = relative(ROOT, resolve(ROOT, dirname(f), spec)).replace(/\.js$/, '.ts');
      const why = violation(f, target);
      if (why) problems.push(`${f} → ${spec}: ${why}`);
      const a = dirname(f);
      const b = dirname(target);
      if (a !== b && unitOf(target) !== null) {
        if (!edges.has(a)) edges.set(a, new Set());
        edges.get(a)!.add(b);
      }
    }
  }
  for (const cycle of folderCycles(edges)) problems.push(`folder cycle: ${cycle.join(' ↔ ')}`);
  for (const p of problems) process.stdout.write(`${p}\n`);
  process.stdout.write(`layering: ${problems.length} import(s) break the layers in ${files.length} files\n`);
  if (problems.length) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
