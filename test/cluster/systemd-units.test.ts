/**
 * The systemd units in deploy/systemd match the CLI and the deployment doc: each starts main.js
 * with flags main.ts knows and a role list parseRoles accepts, stops with SIGTERM (the clean
 * leave) and long enough for it, keeps secrets off the command line, and is named in
 * docs/deployment.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRoles } from '../../app/build-gateway.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = join(ROOT, 'deploy/systemd');
const units = readdirSync(DIR).filter((f) => f.endsWith('.service'));
const doc = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8');
const mainFlags = new Set(
  [...readFileSync(join(ROOT, 'app/main.ts'), 'utf8').matchAll(/^\s*'?([a-z][a-z-]*)'?: \{ type: '/gm)].map(
    (m) => m[1]!,
  ),
);

/** INI as systemd reads it: sections of key=value lines, comments and blanks skipped. */
function parseUnit(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = '';
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      out[section] = {};
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`line ${i + 1}: not a key=value in a section: ${line}`);
    out[section]![kv[1]!] = kv[2]!;
  }
  return out;
}

describe('systemd units', () => {
  it('exist for every role combination the doc describes', () => {
    expect(units.sort()).toEqual([
      'gridwatch-dispatch.service',
      'gridwatch-ingest.service',
      'gridwatch-node.service',
      'gridwatch-wall.service',
    ]);
  });

  for (const file of units) {
    it(`${file} starts a valid gateway and stops it cleanly`, () => {
      const u = parseUnit(readFileSync(join(DIR, file), 'utf8'));
      expect(Object.keys(u).sort()).toEqual(['Install', 'Service', 'Unit']);
      const s = u.Service!;
      const args = s.ExecStart!.split(/\s+/);
      expect(args[0]).toBe('/usr/bin/node');
      expect(args[1]).toBe('dist/app/main.js');
      const flags = args.filter((a) => a.startsWith('--')).map((a) => a.slice(2));
      for (const f of flags) expect(mainFlags, `--${f} is a flag of app/main.ts`).toContain(f);
      const roles = args[args.indexOf('--roles') + 1]!;
      expect(() => parseRoles(roles.split(','))).not.toThrow();
      expect(args[args.indexOf('--config') + 1]).toMatch(/^\/etc\/gridwatch\/.+\.yaml$/);
      expect(s.ExecStart).not.toMatch(/password|secret|token|:\/\/[^/\s]*@/i);
      expect(s.KillSignal).toBe('SIGTERM');
      // Longer than a lease: the clean leave releases leases before the lease ttl would.
      expect(Number(s.TimeoutStopSec)).toBeGreaterThanOrEqual(10);
      expect(s.Restart).toBe('always');
      expect(s.EnvironmentFile).toBe('/etc/gridwatch/gridwatch.env');
      expect(doc).toContain(file);
      expect(doc).toContain(`\`${roles}\``);
    });
  }
});
