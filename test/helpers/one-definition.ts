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
  /**
   * When given, a match defines the thing this names (e.g. a finding type): it counts when the
   * thing is in `known` (defined elsewhere already) or defined in more than one file.
   */
  key?: (match: string) => string;
  known?: ReadonlySet<string>;
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

export function rules(manifest: readonly { type: string; zh: string; en: string }[]): Rule[] {
  const quoted = manifest
    .flatMap((t) => [t.zh, t.en])
    .map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');
  return [
    {
      name: 'finding-type labels (from the plugin manifests)',
      home: [],
      patterns: quoted ? [new RegExp(`['"\`](?:${quoted})['"\`]`, 'g')] : [],
    },
    {
      // A type not raised by a plugin (camera_offline in the composition, the event kinds'
      // types in features/events) is labelled once, by the part that raises it.
      name: 'finding-type definitions (a manifest type, or one type labelled in two files)',
      home: [],
      patterns: [/\{\s*type:\s*['"`][a-z_]+['"`]\s*,\s*zh:/g],
      key: (m) => /type:\s*['"`]([a-z_]+)/.exec(m)![1]!,
      known: new Set(manifest.map((t) => t.type)),
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
  for (const rule of list) {
    const found: Array<Hit & { key?: string }> = [];
    for (const [file, text] of files) {
      if (rule.home.includes(file)) continue;
      for (const re of rule.patterns) {
        for (const m of text.matchAll(re)) {
          if (rule.accept && !rule.accept(m[0])) continue;
          const line = text.slice(0, m.index).split('\n').length;
          found.push({
            rule: rule.name,
            file,
            line,
            text: m[0],
            ...(rule.key ? { key: rule.key(m[0]) } : {}),
          });
        }
      }
    }
    const { key } = rule;
    if (!key) {
      hits.push(...found);
      continue;
    }
    const filesOf = new Map<string, Set<string>>();
    for (const f of found) (filesOf.get(f.key!) ?? filesOf.set(f.key!, new Set()).get(f.key!)!).add(f.file);
    for (const { key: k, ...h } of found) if (rule.known?.has(k!) || filesOf.get(k!)!.size > 1) hits.push(h);
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
