import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../../app/build-gateway.js';
import { createLogger } from '../../core/logger.js';
import { startTestRedis } from '../helpers/redis.js';
import { GRID_FILE, logSink } from './helpers/wall-harness.js';

/**
 * A wall closed right after it started (a bench, a test, a config error found late) must not
 * leave the Socket.IO adapter's SUBSCRIBE to reject unhandled: that ends the process.
 */
describe('a wall gateway closed right after start', () => {
  let root: string;
  let redis: Awaited<ReturnType<typeof startTestRedis>>;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gw-close-'));
    mkdirSync(join(root, 'cameras'));
    redis = await startTestRedis();
    writeFileSync(
      join(root, 'gateway.yaml'),
      `http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ngrids: { file: ${JSON.stringify(GRID_FILE)} }\n`,
    );
    process.on('unhandledRejection', onRejection);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await redis?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('closes three times in a row with no unhandled rejection and no error-level line', async () => {
    const { stream, sink } = logSink();
    for (let i = 0; i < 3; i++) {
      const gw = await buildGateway({
        config: join(root, 'gateway.yaml'),
        roles: ['wall'],
        redisUrl: redis.url,
        logger: createLogger({ level: 'debug', destination: stream }),
      });
      await gw.close();
    }
    // Let a late SUBSCRIBE rejection surface before judging.
    await new Promise((r) => setTimeout(r, 300));
    expect(rejections).toEqual([]);
    const errors = sink.lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 50);
    expect(errors).toEqual([]);
  });
});
