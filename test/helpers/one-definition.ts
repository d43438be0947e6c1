import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ALERT_STATES } from '../../core/contracts/alert.js';
import { OPEN_STATES } from '../../core/contracts/alert-states.js';
import { REPO_ROOT } from './media.js';

/**
 * Finds second definitions of the rules issue 9 made single: finding-type labels, alert states,
 * model defaults, suppression semantics and scope. A heuristic: it reads source text with
 * patterns for the shapes the old copies had (a type-info literal, a state list, a `?? 0.2`
 * default, a zone comparison, a path-versus-scope check), so it catches copies written the way
 * they were before, not every conceivable one. Its own test plants one copy of each shape and
 * expects it found (test/foundation/one-definition.test.ts).
 */
export interface Rule {
  name: string;
  /** Where the rule is defined: the only file allowed to match. */
  home: readonly string[];
  /** Regexes with the `g` flag; a match outside `home` is a second definition. */
  patterns: readonly RegExp[];
  /** When given, only matches it accepts count. */
  accept?: (match: string) => boolean;
}

const stateNames = ALERT_STATES.join('|');

/**
 * A list of state names is another rule's business (platform order, callback statuses) unless
 * it is the open states, some of them only (the wall's old copy had 3 of 8), or all states.
 */
function isStateSetCopy(match: string): boolean {
  const names = [...match.matchAll(/['"`]([a-z_]+)['"`]/g)].map((m) => m[1]!);
  const all = names.length === ALERT_STATES.length && ALERT_STATES.every((s) => names.includes(s));
  return all || names.every((n) => OPEN_STATES.has(n as never));
}

export function rules(manifestLabels: readonly string[]): Rule[] {
  const quoted = manifestLabels.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return [
    {
      name: 'finding-type catalogue (labels, colours, icons come from plugin manifests)',
      // Built-in types (camera_offline) are the composition's own, listed once there.
      home: ['app/build-gateway.ts'],
      patterns: [
        /\{\s*type:\s*['"`][a-z_]+['"`]\s*,\s*zh:/g,
        ...(quoted ? [new RegExp(`['"\`](?:${quoted})['"\`]`, 'g')] : []),
      ],
    },
    {
      name: 'alert states and OPEN_STATES (core/contracts/alert-states.ts, served by /meta)',
      home: ['core/contracts/alert.ts', 'core/contracts/alert-states.ts'],
      patterns: [
        /\b(?:OPEN_STATES|ALERT_STATES|openStates)\s*=\s*(?:new Set|\[)/g,
        new RegExp(
          `\\[\\s*(?:['"\`](?:${stateNames})['"\`]\\s*,\\s*){2,}['"\`](?:${stateNames})['"\`](?:\\s*,\\s*['"\`](?:${stateNames})['"\`])*`,
          'g',
        ),
      ],
      accept: (m) => !m.startsWith('[') || isStateSetCopy(m),
    },
    {
      name: 'model defaults (the zod schema only)',
      home: ['features/detectors/config/detectors-config.ts'],
      patterns: [
        /\b(?:minScore|nmsIou|maxBoxArea|iouThreshold)\b\s*(?:\?\?|\|\||=(?![=>]))\s*\d/g,
        /(?:\?\?|\|\||\.default\()\s*['"`](?:ssd-mobilenet-v2|centernet)['"`]/g,
      ],
    },
    {
      name: 'suppression semantics (core/rules/suppression-match.ts)',
      home: ['core/rules/suppression-match.ts'],
      patterns: [/\b\w+\.zoneId\s*===\s*null\s*\|\|/g, /\b\w+\.zoneId\s*===\s*\w+\.zoneId\b/g],
    },
    {
      name: 'scope (core/grid/scope.ts)',
      home: ['core/grid/scope.ts'],
      patterns: [
        /\.some\(\s*\(?\s*\w+\s*\)?\s*=>\s*\w+\.code\s*===\s*[\w.]*scope\b/g,
        /\b(?:codes|path|gridPath)\b[^;\n]{0,40}\.includes\(\s*[\w.]*scope\s*\)/g,
        /\.startsWith\(\s*[\w.]*scope\s*\)/g,
      ],
    },
  ];
}

export interface Hit {
  rule: string;
  file: string;
  line: number;
  text: string;
}

/** Matches of every rule in `files` (repo-relative path → text), outside the rule's home. */
export function secondDefinitions(files: ReadonlyMap<string, string>, list: readonly Rule[]): Hit[] {
  const hits: Hit[] = [];
  for (const [file, text] of files) {
    for (const rule of list) {
      if (rule.home.includes(file)) continue;
      for (const re of rule.patterns) {
        for (const m of text.matchAll(re)) {
          if (rule.accept && !rule.accept(m[0])) continue;
          const line = text.slice(0, m.index).split('\n').length;
          hits.push({ rule: rule.name, file, line, text: m[0] });
        }
      }
    }
  }
  return hits;
}

const ROOTS = ['core', 'features', 'app', 'scripts', 'bench', 'test/helpers', 'test/wall/helpers'];
const SOURCE = /\.(?:ts|js|mjs|html)$/;

/** The project's source files under the roots the rules hold for, comments stripped. */
export function projectSources(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'vendor' || name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (SOURCE.test(name) && !name.endsWith('.test.ts') && p !== import.meta.filename)
        out.set(relative(REPO_ROOT, p), stripComments(readFileSync(p, 'utf8')));
    }
  };
  for (const r of ROOTS) walk(join(REPO_ROOT, r));
  return out;
}

/** Block and line comments out (prose may name a label or a rule), string contents kept. */
function stripComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}
