import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type Gateway } from '../../app/build-gateway.js';
import { loadGatewayFile } from '../../app/gateway-file.js';
import { resolveSecret } from '../../core/config/resolve-secret.js';
import { validateCameraText } from '../../core/config/camera-file.js';
import { GridwatchError, formatIssue } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { hashPassword } from '../../features/wall/password-hash.js';
import { startTestRedis } from '../helpers/redis.js';
import { GRID_FILE, logSink, PASSWORD } from './helpers/wall-harness.js';

/**
 * Secrets are read only from the secrets places (core/config/resolve-secret.ts) and their
 * values never appear in an error, a log line or the admin page. Every value below is unique
 * so a leak anywhere is found by searching for it.
 */
const VALUES = {
  next: 'val-next-9f3a',
  deep: 'val-deep-5c1e',
  outside: 'val-outside-77d2',
  session: 'val-sessionkey-0b8c',
  yaml: 'val-yaml-e41f',
  bare: 'val-bare-c9a0',
};
const leaks = (text: string) => Object.values(VALUES).filter((v) => text.includes(v));

let root: string;
let base: string;
let outside: string;

function refusal(fn: () => unknown): GridwatchError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GridwatchError);
    const e = err as GridwatchError;
    const all = `${e.message} ${JSON.stringify(e.toJSON())} ${String(e.cause ?? '')} ${e.stack ?? ''}`;
    expect(leaks(all)).toEqual([]);
    return e;
  }
  throw new Error('expected a refusal');
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gw-secrets-'));
  base = join(root, 'config');
  outside = join(root, 'elsewhere');
  mkdirSync(join(base, 'secrets', 'deep'), { recursive: true });
  mkdirSync(join(base, 'var'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(base, 'pw.txt'), `${VALUES.next}\n`);
  writeFileSync(join(base, 'secrets', 'deep', 'k.yaml'), `k: ${VALUES.deep}\n`);
  writeFileSync(join(base, 'var', 'wall-session.key'), VALUES.session);
  writeFileSync(join(outside, 'other.txt'), VALUES.outside);
  writeFileSync(join(base, 'bad.yaml'), `k: [${VALUES.yaml}\n  - : :\n`);
  symlinkSync(join(outside, 'other.txt'), join(base, 'link-out'));
  symlinkSync(join(base, 'var', 'wall-session.key'), join(base, 'link-key'));
  symlinkSync('/etc/passwd', join(base, 'link-passwd'));
  symlinkSync(join(base, 'pw.txt'), join(base, 'secrets', 'link-in'));
  symlinkSync(outside, join(base, 'secrets', 'dir-out'));
  execFileSync('mkfifo', [join(base, 'fifo')]);
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('secret files only inside the secrets places', () => {
  it('reads a file next to the config, below secrets/, and through a link that stays inside', () => {
    expect(resolveSecret({ file: 'pw.txt' }, base, {})).toBe(VALUES.next);
    expect(resolveSecret({ file: 'secrets/deep/k.yaml', key: 'k' }, base, {})).toBe(VALUES.deep);
    expect(resolveSecret({ file: 'secrets/link-in' }, base, {})).toBe(VALUES.next);
    expect(resolveSecret({ file: join(base, 'pw.txt') }, base, {})).toBe(VALUES.next);
  });

  it('refuses paths and symbolic links out of them, naming the reference and never the value', () => {
    const cases: Array<[string, RegExp]> = [
      ['../elsewhere/other.txt', /leads outside the secrets directories/],
      [join(outside, 'other.txt'), /leads outside/],
      ['/etc/passwd', /leads outside/],
      ['link-out', /leads through a symbolic link outside/],
      ['link-passwd', /leads through a symbolic link outside/],
      // The data directory (wall session key, Redis AOF) is a subfolder: not a secrets place.
      ['link-key', /leads through a symbolic link outside/],
      ['var/wall-session.key', /leads outside/],
      ['secrets/dir-out/other.txt', /leads outside/],
    ];
    for (const [file, message] of cases) {
      const e = refusal(() => resolveSecret({ file }, base, {}));
      expect(e.code, file).toBe('GW_SECRET_PLACE');
      expect(e.message, file).toMatch(message);
      expect(e.message, file).toContain(`secrets file ${file} `);
      expect(e.field).toBe('file');
    }
  });

  it('a configured secrets directory (GRIDWATCH_SECRETS_DIRS) is one of the places', () => {
    expect(resolveSecret({ file: 'link-out' }, base, { GRIDWATCH_SECRETS_DIRS: outside })).toBe(
      VALUES.outside,
    );
    expect(resolveSecret({ file: 'link-out' }, base, {}, { dirs: [outside] })).toBe(VALUES.outside);
  });

  it('refuses what is not a regular file (a FIFO would block the process) and bad YAML without its text', () => {
    expect(refusal(() => resolveSecret({ file: 'fifo' }, base, {})).message).toMatch(/not a regular file/);
    expect(refusal(() => resolveSecret({ file: 'secrets' }, base, {})).message).toMatch(/not a regular file/);
    expect(refusal(() => resolveSecret({ file: 'nope.txt' }, base, {})).code).toBe('GW_SECRET_MISSING');
    const bad = refusal(() => resolveSecret({ file: 'bad.yaml', key: 'k' }, base, {}));
    expect(bad.message).toMatch(/secrets file bad\.yaml is not valid YAML or JSON \(line \d+\)/);
  });
});

describe('secret values never echoed by config errors', () => {
  it('a camera-folder file holding only a value, and non-string values under credential keys', async () => {
    const grids = (await import('../../core/grid/grid-index.js')).loadGridFile;
    const { index } = await grids(GRID_FILE);
    const bare = validateCameraText('cameras/pw.yaml', `${VALUES.bare}\n`, index, undefined);
    expect(bare.fileIssues.length).toBeGreaterThan(0);
    const text = bare.fileIssues.map(formatIssue).join('\n');
    expect(text).toContain('value hidden');
    expect(leaks(text)).toEqual([]);
    const numeric = validateCameraText(
      'cameras/n.yaml',
      `cameras:\n  - id: c1\n    name: n\n    source: { kind: rtsp, url: 'rtsp://10.0.0.1/s' }\n    location: { lon: 120.02, lat: 30.02 }\n    credentials: { username: admin, password: 8812345 }\n`,
      index,
      undefined,
    );
    const all = [...numeric.fileIssues, ...numeric.entries.flatMap((e) => e.issues)]
      .map(formatIssue)
      .join('\n');
    expect(all).toMatch(/credentials\.password/);
    expect(all).not.toContain('8812345');
  });

  it('gateway.yaml: a plain value for auth.sessionSecret is refused without showing it', async () => {
    const file = join(root, 'plain-gateway.yaml');
    writeFileSync(file, `auth: { sessionSecret: ${VALUES.yaml} }\n`);
    const err = await loadGatewayFile(file).then(
      () => null,
      (e: unknown) => e as GridwatchError,
    );
    expect(err).toBeInstanceOf(GridwatchError);
    expect(err!.message).toMatch(/auth\.sessionSecret/);
    expect(leaks(`${err!.message} ${JSON.stringify(err!.toJSON())}`)).toEqual([]);
  });
});

describe('through the composition (buildGateway, roles wall + dispatch)', () => {
  let redis: Awaited<ReturnType<typeof startTestRedis>>;
  let gw: Gateway | null = null;
  const { stream, sink } = logSink();
  const gatewayYaml = async (extra: string) => {
    const dir = mkdtempSync(join(root, 'gw-'));
    mkdirSync(join(dir, 'cameras'));
    writeFileSync(join(dir, 'cameras', 'secret.yaml'), `${VALUES.bare}\n`);
    symlinkSync(join(outside, 'other.txt'), join(dir, 'session.link'));
    const hash = await hashPassword(PASSWORD);
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ncameras: { dirs: [./cameras] }\ngrids: { file: ${JSON.stringify(GRID_FILE)} }\n` +
        `users:\n  - { username: admin, displayName: 管理员, role: admin, scope: '3301', passwordHash: '${hash}' }\n${extra}`,
    );
    return join(dir, 'gateway.yaml');
  };
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.close();
  });

  it('/api/v1/admin/rejected-cameras and the log show the field and "hidden", not the value', async () => {
    gw = await buildGateway({
      config: await gatewayYaml(''),
      roles: ['wall', 'dispatch'],
      redisUrl: redis.url,
      logger: createLogger({ level: 'debug', destination: stream }),
    });
    const login = await fetch(`${gw.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    });
    const { token } = (await login.json()) as { token: string };
    const r = await fetch(`${gw.url}/api/v1/admin/rejected-cameras`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const text = await r.text();
    expect(r.status).toBe(200);
    expect(text).toContain('secret.yaml');
    expect(text).toContain('value hidden');
    expect(leaks(text)).toEqual([]);
    expect(leaks(sink.text())).toEqual([]);
    await gw.close();
    gw = null;
  });

  it('a session secret linked out of the secrets places stops start-up with GW_SECRET_PLACE', async () => {
    const err = await buildGateway({
      config: await gatewayYaml('auth: { sessionSecret: { file: session.link } }\n'),
      roles: ['wall', 'dispatch'],
      redisUrl: redis.url,
      logger: createLogger({ level: 'debug', destination: stream }),
    }).then(
      (g) => {
        gw = g;
        return null;
      },
      (e: unknown) => e as GridwatchError,
    );
    expect(err?.code).toBe('GW_SECRET_PLACE');
    expect(leaks(`${err?.message} ${sink.text()}`)).toEqual([]);
  });
});
