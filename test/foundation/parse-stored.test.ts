import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Codes, GridwatchError } from '../../core/errors.js';
import { parseStored, readStored } from '../../core/redis/parse-stored.js';

const S = z.object({ id: z.string(), n: z.number().int() }).strict();

describe('stored JSON read back through its schema', () => {
  it('names what is wrong: not JSON, or the first field at fault; never throws a SyntaxError', () => {
    expect(parseStored(S, '{"id":"a","n":1}')).toEqual({ ok: true, value: { id: 'a', n: 1 } });
    expect(parseStored(S, '{"id":')).toEqual({ ok: false, why: 'not JSON (6 bytes)' });
    const wrong = parseStored(S, '{"id":"a","n":"1"}');
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.why).toMatch(/^n: /);
    const extra = parseStored(S, '{"id":"a","n":1,"x":2}');
    expect(extra.ok).toBe(false);
  });

  it('readStored raises GW_STORED_CORRUPT naming the record, without its content', () => {
    const err = (() => {
      try {
        readStored(S, '{"id":"secret-value","n":"x"}', 'whistle of A1');
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(GridwatchError);
    expect((err as GridwatchError).code).toBe(Codes.GW_STORED_CORRUPT);
    expect((err as Error).message).toContain('whistle of A1');
    expect((err as Error).message).not.toContain('secret-value');
  });
});
