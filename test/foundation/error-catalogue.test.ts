import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  Codes,
  ERROR_CATALOGUE,
  ERROR_CODES,
  GridwatchError,
  NotFoundError,
  isErrorCode,
} from '../../core/errors.js';
import { ERRORS_DOC, renderErrorDocs } from '../../scripts/gen-error-docs.js';
import { REPO_ROOT } from '../helpers/media.js';

describe('error catalogue', () => {
  it('docs/errors.md is the generated one (run npm run docs:errors after editing the catalogue)', () => {
    expect(readFileSync(ERRORS_DOC, 'utf8')).toBe(renderErrorDocs());
  });

  it('takes the HTTP status from the catalogue, for plain and named errors alike', () => {
    expect(new GridwatchError(Codes.GW_NOT_READY, 'starting').status).toBe(503);
    const nf = new NotFoundError('alert', 'A1');
    expect(nf.code).toBe('GW_NOT_FOUND');
    expect(nf.status).toBe(ERROR_CATALOGUE.GW_NOT_FOUND.status);
    expect(nf).toBeInstanceOf(GridwatchError);
  });

  it('keys are sorted, each with zh and en text, and Codes maps each to itself', () => {
    expect([...ERROR_CODES].sort()).toEqual(ERROR_CODES);
    for (const c of ERROR_CODES) {
      expect(Codes[c]).toBe(c);
      expect(ERROR_CATALOGUE[c].zh.length).toBeGreaterThan(0);
      expect(ERROR_CATALOGUE[c].en.length).toBeGreaterThan(0);
      expect(ERROR_CATALOGUE[c].status).toBeGreaterThanOrEqual(400);
    }
    expect(isErrorCode('GW_NOT_FOUND')).toBe(true);
    expect(isErrorCode('GW_NO_SUCH_CODE')).toBe(false);
  });

  it('lint refuses a GW_ string literal outside the catalogue', () => {
    // A file that compares a code with a string: the rule in eslint.config.js must flag it.
    const out = (() => {
      try {
        execFileSync(
          'npx',
          ['eslint', '--stdin', '--stdin-filename', 'features/wall/validate.ts', '--format', 'json'],
          {
            cwd: REPO_ROOT,
            input: "export const isNotFound = (c: string) => c === 'GW_NOT_FOUND';\n",
            encoding: 'utf8',
          },
        );
        return '[]';
      } catch (err) {
        return (err as { stdout: string }).stdout;
      }
    })();
    const messages = (JSON.parse(out) as { messages: { message: string }[] }[])[0]?.messages ?? [];
    expect(messages.map((m) => m.message).join('\n')).toMatch(/error catalogue/);
  });
});
