import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaPath, REPO_ROOT } from '../../helpers/media.js';
import { FIXTURES } from '../core/helpers.js';

const run = promisify(execFile);
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

type Line = Record<string, unknown>;

describe('npm run analyze (scripts/analyze.ts)', () => {
  let work: string;
  // The child's own temp folder (TMPDIR), so the test sees exactly the temp files it leaves.
  let childTmp: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'gw-analyze-test-'));
    childTmp = join(work, 'tmp');
    await run('mkdir', ['-p', childTmp]);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function analyze(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, TMPDIR: childTmp };
    try {
      const r = await run(TSX, ['scripts/analyze.ts', ...args], { cwd: REPO_ROOT, env, maxBuffer: 16 << 20 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }
  const lines = (stdout: string): Line[] =>
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);

  it('prints one JSON line per alert as raised (why, first-seen and raise evidence) and a summary', async () => {
    const ev = join(work, 'ev');
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
    const out = lines(r.stdout);
    const summary = out.at(-1)!;
    expect(summary).toMatchObject({
      kind: 'summary',
      summary: true,
      camera: 'vtest-van',
      model: 'ssd-mobilenet-v2',
      framesSampled: 30,
      alerts: 1,
      heldBack: 0,
      refreshes: 0,
      backend: 'wasm',
      evidenceDir: ev,
    });
    expect(summary.framesInferred as number).toBeLessThan(30);
    const alerts = out.filter((l) => l.kind === 'alert');
    expect(alerts).toHaveLength(1);
    const a = alerts[0]!;
    expect(a).toMatchObject({ type: 'illegal_parking', zone: 'van-bay', start: 0 });
    // Raised when the dwell (20 s) had passed and the re-check saw the van on the raise frame.
    expect(a.raisedAt as number).toBeGreaterThanOrEqual(20);
    expect(a.trackIds).toHaveLength(1);
    expect(a.recheckScore as number).toBeGreaterThan(0.3);
    expect(a.why).toMatchObject({
      rule: 'illegal_parking',
      plugin: 'illegal_parking',
      zoneId: 'van-bay',
      zoneName: '面包车禁停区',
      dwellSec: 20,
      recheckScore: a.recheckScore,
    });
    expect((a.why as { heldSec: number }).heldSec).toBeGreaterThanOrEqual(20);
    const e = a.evidence as { firstSeen: string; raised: string; latest: string };
    for (const p of [e.firstSeen, e.raised, e.latest]) expect(existsSync(p), p).toBe(true);
    // The first-seen frame is another picture than the raise frame.
    expect(e.firstSeen).not.toBe(e.raised);
  }, 180_000);

  it('--gateway takes that gateway.yaml’s detectors section; --trace prints each sample; no temp folder is left', async () => {
    const gw = join(work, 'gateway.yaml');
    await writeFile(gw, 'detectors:\n  workers: 1\n  model:\n    plugin: centernet\n');
    const before = await readdir(childTmp);
    const r = await analyze([
      '--video',
      mediaPath('vtest.avi'),
      '--camera',
      join(FIXTURES, 'vtest-van.yaml'),
      '--max-sec',
      '4',
      '--trace',
      '--gateway',
      gw,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.at(-1)).toMatchObject({ kind: 'summary', model: 'centernet', gateway: gw, evidenceDir: null });
    const samples = out.filter((l) => l.kind === 'sample');
    expect(samples.map((s) => s.t)).toEqual([0, 1, 2, 3]);
    expect(samples[0]).toMatchObject({ gate: 'inferred' });
    // The van is detected and tracked from the first sample.
    const first = samples[0] as { detections: Array<{ label: string }>; tracks: Array<{ id: string }> };
    expect(first.detections.some((d) => ['car', 'truck', 'bus'].includes(d.label))).toBe(true);
    expect(first.tracks.length).toBeGreaterThan(0);
    expect(await readdir(childTmp)).toEqual(before);
  }, 120_000);

  it('a bad gateway.yaml exits 2 naming file, line and field', async () => {
    const gw = join(work, 'bad-gateway.yaml');
    await writeFile(gw, 'detectors:\n  model:\n    minScore: 7\n');
    const r = await analyze([
      '--video',
      mediaPath('vtest.avi'),
      '--camera',
      join(FIXTURES, 'vtest-van.yaml'),
      '--gateway',
      gw,
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`${gw.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3\\S* detectors\\.model\\.minScore`),
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

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

  it('bad flags, a missing or corrupt video and an unknown --camera-id exit 2 with one line naming it', async () => {
    const cam = join(FIXTURES, 'vtest-van.yaml');
    const corrupt = join(work, 'corrupt.mp4');
    await writeFile(corrupt, Buffer.alloc(4096, 7));
    const cases: Array<[string[], RegExp]> = [
      [['--video', mediaPath('vtest.avi'), '--camera', cam, '--frobnicate'], /^GW_ARGS: .*'--frobnicate'/],
      [['--camera', cam], /^GW_ARGS: --video is required/],
      [
        ['--video', mediaPath('vtest.avi'), '--camera', cam, '--interval', 'fast'],
        /^GW_ARGS: --interval: expected a positive number/,
      ],
      [
        ['--video', '/nonexistent/clip.mp4', '--camera', cam],
        /^GW_VIDEO: \/nonexistent\/clip\.mp4: no such video file$/,
      ],
      [
        ['--video', corrupt, '--camera', cam],
        new RegExp(`^GW_VIDEO: ${corrupt.replace(/[.]/g, '\\.')}: not a readable video`),
      ],
      [
        ['--video', mediaPath('vtest.avi'), '--camera', cam, '--camera-id', 'nope'],
        /^GW_ARGS: --camera-id: no camera "nope" in .*vtest-van\.yaml \(has: vtest-van\)$/,
      ],
    ];
    for (const [args, want] of cases) {
      const r = await analyze(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const errLines = r.stderr.trim().split('\n');
      expect(errLines, r.stderr).toHaveLength(1);
      expect(errLines[0]).toMatch(want);
    }
  }, 240_000);
});
