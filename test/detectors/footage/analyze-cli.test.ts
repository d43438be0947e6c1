import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { mediaPath, REPO_ROOT } from '../../helpers/media.js';
import { FIXTURES } from '../core/helpers.js';

const run = promisify(execFile);
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

async function analyze(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(TSX, ['scripts/analyze.ts', ...args], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('npm run analyze (scripts/analyze.ts)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('prints one JSON line per finding event and a summary, with evidence on disk', async () => {
    const ev = await mkdtemp(join(tmpdir(), 'gw-analyze-'));
    dirs.push(ev);
    const r = await analyze([
      '--video',
      mediaPath('vtest.avi'),
      '--camera',
      join(FIXTURES, 'vtest-van.yaml'),
      '--evidence',
      ev,
      '--max-sec',
      '30',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.at(-1)!;
    expect(summary).toMatchObject({
      summary: true,
      camera: 'vtest-van',
      framesSampled: 30,
      findings: 1,
      backend: 'wasm',
    });
    expect(summary.framesInferred as number).toBeLessThan(30);
    const [event] = lines;
    expect(event).toMatchObject({ type: 'illegal_parking', zone: 'van-bay', start: 0 });
    expect(event!.raisedAt as number).toBeGreaterThanOrEqual(20);
    expect(event!.trackIds).toHaveLength(1);
    for (const p of event!.evidence as string[]) expect(existsSync(p)).toBe(true);
  }, 180_000);

  it('rejects a bad camera file naming file, line and field, with exit code 2', async () => {
    const r = await analyze([
      '--video',
      mediaPath('vtest.avi'),
      '--camera',
      join(FIXTURES, 'bad-camera.yaml'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const file = join(FIXTURES, 'bad-camera.yaml');
    expect(r.stderr).toContain(`${file}:8`);
    expect(r.stderr).toMatch(/cameras\[0\]\.detectors\[0\]\.rule: unknown rule "ilegal_parking"/);
    expect(r.stderr).toMatch(
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:11\\S* cameras\\[0\\]\\.detectors\\[1\\]\\.options\\.dwellSec`,
      ),
    );
    expect(r.stderr).toMatch(/colour/);
  }, 120_000);

  it('says what is missing when the video does not exist', async () => {
    const r = await analyze([
      '--video',
      '/nonexistent/clip.mp4',
      '--camera',
      join(FIXTURES, 'vtest-van.yaml'),
    ]);
    expect(r.code).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/\/nonexistent\/clip\.mp4/);
  }, 120_000);
});
