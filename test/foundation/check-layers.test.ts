import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { folderCycles, importsOf, unitOf, violation } from '../../scripts/check-layers.js';
import { REPO_ROOT } from '../helpers/media.js';

describe('layering check', () => {
  it('flags the foundation importing a feature or the composition', () => {
    expect(violation('core/config/x.ts', 'features/ingest/ingest.ts')).toMatch(/foundation/);
    expect(violation('core/x.ts', 'app/build-gateway.ts')).toMatch(/foundation/);
    expect(violation('core/a/x.ts', 'core/b/y.ts')).toBeNull();
  });

  it('flags a feature importing another feature or the composition, not core', () => {
    expect(violation('features/wall/a.ts', 'features/dispatcher/b.ts')).toMatch(
      /features\/wall imports features\/dispatcher/,
    );
    expect(violation('features/wall/a.ts', 'app/main.ts')).toMatch(/composition/);
    expect(violation('features/wall/a.ts', 'core/errors.ts')).toBeNull();
    expect(violation('features/wall/a.ts', 'features/wall/public/x.js')).toBeNull();
    expect(violation('app/build-gateway.ts', 'features/wall/create-wall.ts')).toBeNull();
  });

  it('finds static, dynamic and type imports, and folder cycles', () => {
    const text = `import a from './a.js';\nimport type { B } from '../b.js';\nconst c = await import('./c.js');\nexport { d } from "./d.js";\nimport 'node:fs';`;
    expect(importsOf(text)).toEqual(['./a.js', '../b.js', './c.js', './d.js']);
    const edges = new Map([
      ['core/a', new Set(['core/b'])],
      ['core/b', new Set(['core/a', 'core/c'])],
      ['core/c', new Set<string>()],
    ]);
    expect(folderCycles(edges)).toEqual([['core/a', 'core/b']]);
    expect(unitOf('features/detectors/plugins/x/index.ts')).toBe('features/detectors');
  });

  it('the tree has no layering break (npm run check:layers exits 0)', () => {
    const out = execFileSync('npx', ['tsx', 'scripts/check-layers.ts'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(out).toMatch(/layering: 0 import\(s\) break the layers/);
  });
});
