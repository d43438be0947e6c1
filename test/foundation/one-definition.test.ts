import { describe, expect, it } from 'vitest';
import { readPluginTypes } from '../../features/detectors/index.js';
import { projectSources, rules, secondDefinitions } from '../helpers/one-definition.js';
import { REPO_ROOT } from '../helpers/media.js';

const types = await readPluginTypes({ pluginDirs: [] }, REPO_ROOT);
const labels = types.flatMap((t) => [t.zh, t.en]);
const list = rules(types);

/**
 * Second definitions known and owned elsewhere, to be removed by their owners. A ratchet: each
 * entry must still be found (remove it when its file is fixed), and no file outside it may add one.
 */
const KNOWN: ReadonlyArray<{ file: string; why: string }> = [];

describe('one definition of each rule (issue 9)', () => {
  it('the manifests give labels to scan for', () => {
    expect(labels).toContain('违章停车');
    expect(labels.length).toBeGreaterThanOrEqual(10);
  });

  it('no second definition in core, features, app, scripts, bench or the test harnesses', () => {
    const files = projectSources();
    expect(files.has('app/build-gateway.ts')).toBe(true);
    expect(files.has('features/wall/public/js/meta.js')).toBe(true);
    const hits = secondDefinitions(files, list);
    const known = new Set(KNOWN.map((k) => k.file));
    expect(hits.filter((h) => !known.has(h.file))).toEqual([]);
    // The ratchet: a known entry whose file no longer has a second definition is to be removed.
    for (const k of KNOWN)
      expect(
        hits.some((h) => h.file === k.file),
        k.file,
      ).toBe(true);
  });

  // The check of the check: one copy of each shape the old second definitions had.
  it.each([
    ['finding-type', "typeInfo: () => ({ type: 'illegal_parking', zh: '违停', en: 'Illegal parking' })"],
    ['finding-type', "const label = kind === 'parking' ? '违章停车' : kind;"],
    ['alert states', "const OPEN_STATES = new Set(['new', 'claimed', 'escalated']);"],
    ['alert states', "if (['new', 'claimed', 'escalated'].includes(a.state)) show(a);"],
    ['model defaults', 'const minScore = opts.minScore ?? 0.25;'],
    ['model defaults', "const plugin = cam.model ?? 'ssd-mobilenet-v2';"],
    ['suppression', 's.cameraId === f.cameraId && (s.zoneId === null || s.zoneId === f.zoneId)'],
    ['suppression', 'list.some((s) => s.type === f.type && s.zoneId === f.zoneId)'],
    ['scope', 'return alert.gridPath.some((g) => g.code === user.scope);'],
    ['scope', 'if (grids.path(cam.gridCode).map((g) => g.code).includes(user.scope)) ok();'],
    ['scope', 'return alert.gridCode.startsWith(user.scope);'],
  ])('finds a planted %s copy: %s', (rule, line) => {
    const hits = secondDefinitions(new Map([['features/x/copy.ts', `${line}\n`]]), list);
    expect(hits.map((h) => h.rule.split(' ')[0])).toContain(rule.split(' ')[0]);
  });

  it('a type labelled by the part that raises it is one definition; a second file makes two', () => {
    const def = "export const KIND = { type: 'air_quality_breach', zh: '空气质量超标', en: 'Air quality' };";
    const one = new Map([['features/events/kinds.ts', def]]);
    expect(secondDefinitions(one, list)).toEqual([]);
    const two = new Map([...one, ['features/wall/labels.ts', def]]);
    expect(secondDefinitions(two, list).map((h) => h.file)).toEqual([
      'features/events/kinds.ts',
      'features/wall/labels.ts',
    ]);
  });

  it('allows the rule in its home file only', () => {
    const line = 'return s.cameraId === t.cameraId && (s.zoneId === null || s.zoneId === t.zoneId);';
    expect(secondDefinitions(new Map([['core/rules/suppression-match.ts', line]]), list)).toEqual([]);
    expect(secondDefinitions(new Map([['core/rules/other.ts', line]]), list)).not.toEqual([]);
  });
});
