import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../features/wall/password-hash.js';
import { REPO_ROOT } from '../helpers/media.js';

export const FUZZ_PASSWORD = 'Gw-fuzz-密码-1';
const GRID_FIXTURE = new URL('../wall/fixtures/grids.geojson', import.meta.url).pathname;

export interface GatewayProcess {
  url: string;
  dir: string;
  child: ChildProcess;
  /** Everything the process wrote (stdout and stderr), pino JSON lines among it. */
  output(): string;
  /** Pino lines at error level or above. */
  errorLines(): string[];
  alive(): boolean;
  stop(): Promise<number | null>;
}

/**
 * The real gateway as a child process (`app/main.ts`) on a temp config: its own embedded Redis,
 * the wall fixture's grids, one watched camera folder and two users. Roles dispatch+wall: the
 * fuzzed surface (HTTP, Socket.IO, config reload) without the detector's model start-up.
 */
export async function startGatewayProcess(
  opts: { roles?: string; cameraYaml?: string } = {},
): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-fuzz-'));
  await mkdir(join(dir, 'cameras'));
  await mkdir(join(dir, 'grids'));
  await copyFile(GRID_FIXTURE, join(dir, 'grids', 'city.geojson'));
  const hash = await hashPassword(FUZZ_PASSWORD);
  await writeFile(
    join(dir, 'gateway.yaml'),
    [
      'http: { host: 127.0.0.1, port: 0 }',
      'dataDir: ./var',
      'cameras: { dirs: [./cameras] }',
      'grids: { file: ./grids/city.geojson }',
      'users:',
      `  - { username: admin, displayName: 管理员, role: admin, scope: '3301', passwordHash: '${hash}' }`,
      `  - { username: op, displayName: 值班员, role: operator, scope: '330101', passwordHash: '${hash}' }`,
      '',
    ].join('\n'),
  );
  if (opts.cameraYaml) await writeFile(join(dir, 'cameras', 'base.yaml'), opts.cameraYaml);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'app/main.ts',
      '--config',
      join(dir, 'gateway.yaml'),
      '--roles',
      opts.roles ?? 'dispatch,wall',
    ],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GRIDWATCH_LOG_LEVEL: 'info', NODE_ENV: 'production' },
    },
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /gridwatch wall: (http:\/\/[\d.:]+)\//.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`gateway exited ${child.exitCode}: ${out.slice(-2_000)}`));
      }
    }, 50);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    url,
    dir,
    child,
    output: () => out,
    errorLines: () =>
      out.split('\n').filter((l) => {
        if (!l.startsWith('{')) return false;
        try {
          return (JSON.parse(l) as { level?: number }).level! >= 50;
        } catch {
          return false;
        }
      }),
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
