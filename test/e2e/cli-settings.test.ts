/**
 * The CLI's start and stop (issue 13, item 6): a setting that cannot work ends the process with
 * one line naming it and exit code 2 (no stack, nothing else on stderr); a clean SIGTERM logs no
 * error-level line and exits 0.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/media.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-cli-'));
  await mkdir(join(dir, 'cameras'));
  await copyFile(
    new URL('../wall/fixtures/grids.geojson', import.meta.url).pathname,
    join(dir, 'grids.geojson'),
  );
  config = join(dir, 'gateway.yaml');
  await writeFile(
    config,
    'http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ncameras: { dirs: [./cameras] }\ngrids: { file: ./grids.geojson }\n',
  );
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function gateway(args: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'app/main.ts', '--config', config, '--roles', 'dispatch,wall', ...args],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GRIDWATCH_LOG_LEVEL: 'info' },
    },
  );
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (b: Buffer) => (out.stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out.stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out, exited };
}

const errorLevel = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .filter((l) => (JSON.parse(l) as { level: number }).level >= 50);

describe('gridwatch CLI settings', () => {
  it('a busy HTTP port: one line naming http.port, exit 2', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const g = gateway(['--port', String(port)]);
      expect(await g.exited).toBe(2);
      const lines = g.out.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^gridwatch: http\\.port: port ${port} on 127\\.0\\.0\\.1 is in use`),
      );
      expect(lines[0]).toContain('--port N');
      expect(errorLevel(g.out.stdout)).toEqual([]);
    } finally {
      busy.close();
    }
  });

  it('an unreachable Redis: one line naming redis.url, exit 2', async () => {
    const free: Server = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((r) => free.close(() => r()));
    const g = gateway(['--redis', `redis://127.0.0.1:${port}`]);
    expect(await g.exited).toBe(2);
    const lines = g.out.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^gridwatch: redis\.url: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
      ),
    ]);
    expect(errorLevel(g.out.stdout)).toEqual([]);
  });

  it('a bad --port value names --port, exit 2', async () => {
    const g = gateway(['--port', 'http']);
    expect(await g.exited).toBe(2);
    expect(g.out.stderr.trim()).toBe('gridwatch: --port: "http" is not a port number (0-65535)');
  });

  it('a clean SIGTERM exits 0 with no error-level line', async () => {
    const g = gateway([]);
    await waitFor('the wall URL', () => /gridwatch wall: http/.test(g.out.stdout), 60_000);
    g.child.kill('SIGTERM');
    expect(await g.exited).toBe(0);
    expect(errorLevel(g.out.stdout + g.out.stderr)).toEqual([]);
  });
});
