import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { createRedisOutageLog } from '../../core/redis/redis-outage-log.js';

function capture() {
  const lines: Array<{ level: number; msg: string; errors?: number }> = [];
  const logger = createLogger({
    level: 'debug',
    pretty: false,
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as never);
        cb();
      },
    }),
  });
  return { logger, lines };
}

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

describe('redis outage log', () => {
  it('an outage is one error line, periodic summaries, one line when back; other errors pass through', async () => {
    const { logger, lines } = capture();
    const o = createRedisOutageLog({ logger, what: 'test', summaryEveryMs: 100 });
    for (let i = 0; i < 1_000; i++) o.error(refused(), { queue: 'q' }, 'queue error');
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([
      expect.stringMatching(/^test: Redis unreachable/),
    ]);
    expect(o.down()).toBe(true);
    await new Promise((r) => setTimeout(r, 350));
    const summaries = lines.filter((l) => l.msg === 'test: Redis still unreachable');
    expect(summaries.length).toBeGreaterThanOrEqual(2);
    expect(summaries[0]!.errors).toBe(1_000);
    o.error(
      new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
      {},
      'queue error',
    );
    expect(lines.at(-1)).toMatchObject({ level: 50, msg: 'queue error' });
    o.recovered();
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'test: Redis reachable again', errors: 1_000 });
    expect(o.down()).toBe(false);
    const n = lines.length;
    await new Promise((r) => setTimeout(r, 250));
    expect(lines.length).toBe(n); // no summary once back
    o.error(refused(), {}, 'queue error'); // a new outage is reported again
    expect(lines.at(-1)!.msg).toMatch(/^test: Redis unreachable/);
    o.close();
  });
});
