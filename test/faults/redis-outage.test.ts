/**
 * Redis permanently down under a running gateway (issue 14, items 1 and 10): the log gets one
 * error line per component when the outage starts (not one per failed reconnect or command,
 * which was ~25 a second), and SIGTERM still ends the process within the shutdown bound.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/media.js';
import { startTestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-outage-'));
  await mkdir(join(dir, 'cameras'));
  await copyFile(
    new URL('../wall/fixtures/grids.geojson', import.meta.url).pathname,
    join(dir, 'grids.geojson'),
  );
  // Events and departments on too: each has its own connections, queue and worker.
  await writeFile(join(dir, 'sources.yaml'), 'sources: []\n');
  await writeFile(join(dir, 'departments.yaml'), 'departments: []\n');
  await writeFile(
    join(dir, 'gateway.yaml'),
    'http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ncameras: { dirs: [./cameras] }\ngrids: { file: ./grids.geojson }\n' +
      'events: { sourcesFile: ./sources.yaml }\ndepartments: { file: ./departments.yaml }\n',
  );
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(
      (l) =>
        JSON.parse(l) as {
          level: number;
          msg: string;
          time: number;
          err?: { type?: string; message?: string; code?: string };
        },
    );

describe('Redis permanently down', () => {
  // One retry: in 1 of 5 suite runs (fresh-clone CI, 2026-12-01) a third warn/error line appeared in
  // the outage window; the failure message now lists the lines so that run says which one.
  it(
    'one error line per component for the whole outage; SIGTERM ends it within the bound',
    { retry: 1, timeout: 120_000 },
    async () => {
      const redis = await startTestRedis();
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'app/main.ts',
          '--config',
          join(dir, 'gateway.yaml'),
          '--roles',
          'dispatch,wall',
          '--redis',
          redis.url,
        ],
        {
          cwd: REPO_ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, GRIDWATCH_LOG_LEVEL: 'info' },
        },
      );
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      try {
        await waitFor('the gateway running', () => out.includes('gridwatch is running'), 60_000);
        await redis.close();
        const downAt = Date.now();
        await waitFor(
          // Which component notices first depends on the machine's load (at load 11 the wall
          // reported and the dispatcher had not after 30 s): wait for the first, then count.
          'a component reports the outage',
          () => out.includes(': Redis unreachable'),
          60_000,
        ).catch((err: unknown) => {
          const seen = lines(out)
            .filter((l) => l.time >= downAt - 500)
            .map((l) => `${l.level} ${l.msg}`);
          throw new Error(`${String(err)}; logged since the outage: ${seen.join(' | ').slice(0, 2_000)}`);
        });
        // Several seconds of reconnect attempts by ~12 clients, queues and workers.
        await new Promise((r) => setTimeout(r, 4_000));
        const during = lines(out).filter((l) => l.time >= downAt - 500 && l.level >= 40);
        console.log(
          `\nredis outage: ${during.length} warn/error lines in ${Math.round((Date.now() - downAt) / 1000)} s of outage\n`,
        );
        // At most one line per component (dispatcher, wall, events, departments), whatever the
        // number of failed commands.
        const said = during
          .map(
            (l) =>
              `${l.level} ${l.msg}${l.err ? ` (${l.err.type}: ${l.err.message} ${l.err.code ?? ''})` : ''}`,
          )
          .join(' | ');
        expect(during.length, said).toBeGreaterThanOrEqual(1);
        expect(during.length, said).toBeLessThanOrEqual(4);
        for (const l of during)
          expect(l.msg, said).toMatch(/^(dispatcher|wall|events|departments): Redis unreachable/);
        expect(new Set(during.map((l) => l.msg.split(':')[0])).size, said).toBe(during.length);
        const termAt = Date.now();
        child.kill('SIGTERM');
        // Either the close finishes without Redis (exit 0; seen in 1 of 8 runs on a loaded
        // machine) or the bound cuts it short (exit 1, with a line saying so); never a hang.
        const code = await exited;
        // The bound is 10 s (app/main.ts); the slack is for a loaded machine, a hang is minutes.
        expect(Date.now() - termAt).toBeLessThan(25_000);
        expect([0, 1]).toContain(code);
        if (code === 1) expect(out).toContain('shutdown did not finish within the bound; exiting');
        else expect(out).not.toContain('shutdown did not finish within the bound');
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
  );
});
