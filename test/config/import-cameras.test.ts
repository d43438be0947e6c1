import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayConfigStore } from '../../app/gateway-config-store.js';
import { createMetricsRegistry } from '../../core/metrics.js';
import { REPO_ROOT } from '../helpers/media.js';
import { captureLogger, makeConfigDir } from './fixtures.js';

const run = promisify(execFile);
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const SCRIPT = join(REPO_ROOT, 'scripts', 'import-cameras.ts');

async function importCsv(
  csv: string,
  out: string | null,
  extra: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const args = [SCRIPT, '--csv', csv, ...(out ? ['--out', out] : []), '--batch', '2026-11', ...extra];
    const r = await run(TSX, args, { cwd: REPO_ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const HEADER = '设备编码,名称,RTSP地址,用户名,密码,经度,纬度,坐标系,网格编码,标签';
const ROWS = [
  '44120200001310000001,人民路口东,rtsp://admin:Hik12345@10.1.2.3:554/Streaming/Channels/102,,,112.15,23.1,WGS84,441202001001002,学校周边;主干道',
  '44120200001310000002,坏经度,rtsp://10.1.2.4/ch1,admin,Pw-Secret-2,abc,23.1,GCJ02,,',
  '44120200001310000003,坐标系错,rtsp://10.1.2.5/ch1,admin,pw3,112.1,23.1,MARS,,',
  '44120200001310000004,"端州区城东街道\n多行名称",rtsp://10.1.2.6/ch1,operator,Pw-Secret-4,112.05,23.1,gcj02,,',
  '44120200001310000001,重复编码,rtsp://10.1.2.7/ch1,,,112.1,23.1,,,',
  'cam-5,没有视频地址,,,,112.1,23.1,,,',
  '44120200001310000006,网格编码错,rtsp://10.1.2.8/ch1,,,112.1,23.1,,12345,',
  '44120200001310000007,纬度越界,rtsp://10.1.2.9/ch1,,,112.1,95,,,',
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-import-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('import-cameras', () => {
  it('writes the good rows, reports each bad row with line and column, exits 1', async () => {
    const csv = join(dir, 'export.csv');
    await writeFile(csv, `\ufeff${HEADER}\n${ROWS.join('\n')}\n`);
    const out = join(dir, 'out');
    const r = await importCsv(csv, out);
    expect(r.code).toBe(1);
    const problems = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('warning:'));
    expect(problems).toEqual([
      `${csv}:3:6 经度: longitude is not a number (expected a number, found "abc")`,
      `${csv}:4:8 坐标系: unknown coordinate system (expected WGS84, GCJ02, BD09 or CGCS2000, found "MARS")`,
      `${csv}:7:1 设备编码: duplicate device code (first on line 2) (expected a device code unique in the file, found 44120200001310000001)`,
      `${csv}:8:3 RTSP地址: no video source (expected an RTSP URL or an ONVIF address, found both empty)`,
      `${csv}:9:9 网格编码: wrong format (expected a division or grid code of 4, 6, 9, 12 or 15 digits, found "12345")`,
      `${csv}:10:7 纬度: too big (expected a number <= 54, found number 95)`,
    ]);
    expect(r.stdout).toContain('imported 2 camera(s) into 1 file(s)');
    expect(r.stdout).toContain('CAM_44120200001310000001_PASSWORD');
    expect(r.stdout).toContain('CAM_44120200001310000004_PASSWORD');
    const files = await readdir(out);
    expect(files).toEqual(['2026-11-001.yaml']);
    const yaml = await readFile(join(out, files[0]!), 'utf8');
    // No password anywhere: not from the column, not from the URL.
    for (const secret of ['Hik12345', 'Pw-Secret-2', 'Pw-Secret-4', 'pw3']) {
      expect(yaml).not.toContain(secret);
      expect(r.stderr).not.toContain(secret);
      expect(r.stdout).not.toContain(secret);
    }
    expect(yaml).toContain('url: rtsp://10.1.2.3:554/Streaming/Channels/102');
    expect(yaml).toContain('env: CAM_44120200001310000001_PASSWORD');

    // The output is valid config: the store loads both cameras.
    const cfg = await makeConfigDir({ cameras: { 'imported.yaml': yaml } });
    const store = createGatewayConfigStore({
      gatewayFile: cfg.gatewayFile,
      logger: captureLogger().logger,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      watch: false,
    });
    try {
      await store.load();
      expect(store.rejected()).toEqual([]);
      const cams = store.cameras();
      expect(cams.map((c) => [c.id, c.name, c.gridCode, c.credentials?.username])).toEqual([
        ['44120200001310000001', '人民路口东', '441202001001002', 'admin'],
        ['44120200001310000004', '端州区城东街道\n多行名称', '441202001001003', 'operator'],
      ]);
      expect(cams[0]!.tags).toEqual(['学校周边', '主干道']);
      // GCJ-02 112.05,23.1 is WGS84 112.045,23.103: inside the school grid of the fixture.
      expect(cams[1]!.location.crs).toBe('GCJ02');
    } finally {
      await store.close();
      await cfg.cleanup();
    }
  });

  it('detects a GBK export, decodes it and says so; exits 0 when every row is good', async () => {
    const text = `${HEADER}\n${ROWS[0]}\n`;
    const gbk = Buffer.from(new TextEncoderGbk().encode(text));
    const csv = join(dir, 'gbk.csv');
    await writeFile(csv, gbk);
    const r = await importCsv(csv, join(dir, 'out-gbk'));
    expect(r.stderr.split('\n')[0]).toBe(
      `${csv}: not UTF-8; decoded as GBK (a Windows export). Save as UTF-8 to silence this.`,
    );
    expect(r.code).toBe(0);
    const yaml = await readFile(join(dir, 'out-gbk', '2026-11-001.yaml'), 'utf8');
    expect(yaml).toContain('name: 人民路口东');
    expect(yaml).toContain('- 学校周边');
  });

  it('names missing required columns and exits 2', async () => {
    const csv = join(dir, 'cols.csv');
    await writeFile(csv, 'name,lon\nx,112\n');
    const r = await importCsv(csv, join(dir, 'out-cols'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${csv}:1 deviceId: required column deviceId is missing`);
    expect(r.stderr).toContain(`${csv}:1 lat: required column lat is missing`);
    expect(r.stderr).toContain(`${csv}:1 rtsp: required column rtsp is missing`);
  });
});

describe('import-cameras for an integrator (issue 13, item 6)', () => {
  async function configWith(dirs: string[]): Promise<string> {
    const cfgDir = await mkdtemp(join(dir, 'cfg-'));
    await writeFile(join(cfgDir, 'gateway.yaml'), `cameras: { dirs: [${dirs.join(', ')}] }\n`);
    return join(cfgDir, 'gateway.yaml');
  }

  it('without --out writes into the first folder the gateway reads; says the cameras have no rules', async () => {
    const cfg = await configWith(['./cameras']);
    const csv = join(dir, 'default-out.csv');
    await writeFile(csv, `${HEADER}\n${ROWS[0]}\n`);
    const r = await importCsv(csv, null, ['--config', cfg]);
    expect(r.code).toBe(0);
    expect(await readdir(join(dir, cfg.split('/').at(-2)!, 'cameras'))).toEqual(['2026-11-001.yaml']);
    expect(r.stderr).not.toContain('will not see');
    expect(r.stderr).toContain('1 imported camera(s) have no detectors and no zones');
  });

  it('warns when --out is a folder the gateway does not read (a subfolder of cameras.dirs)', async () => {
    const cfg = await configWith(['./cameras']);
    const csv = join(dir, 'sub-out.csv');
    await writeFile(csv, `${HEADER}\n${ROWS[0]}\n`);
    const sub = join(dir, cfg.split('/').at(-2)!, 'cameras', 'imported');
    const r = await importCsv(csv, sub, ['--config', cfg]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /warning: .*reads cameras from .*cameras \(cameras\.dirs\), not from .*cameras\/imported: the gateway will not see these cameras/,
    );
    // The same folder as cameras.dirs: no warning.
    const same = await importCsv(csv, join(dir, cfg.split('/').at(-2)!, 'cameras'), ['--config', cfg]);
    expect(same.stderr).not.toContain('will not see');
  });

  it('accepts CGCS2000 (read as WGS84), reports every error of a row, and a bad user escape without the password', async () => {
    const csv = join(dir, 'many.csv');
    await writeFile(
      csv,
      [
        HEADER,
        '44120200001310000011,国家2000,rtsp://10.1.2.3/ch1,,,112.15,23.1,CGCS2000,441202001001002,',
        '44120200001310000012,天地图,rtsp://10.1.2.3/ch2,,,112.15,23.1,国家2000,,',
        // Three problems in one row: longitude, latitude and grid code.
        '44120200001310000013,三处错误,rtsp://10.1.2.3/ch3,,,abc,95,WGS84,12345,',
        '44120200001310000014,坏转义,rtsp://%ZZ:Pw-Escape-9@10.1.2.3/ch4,,,112.15,23.1,,,',
      ].join('\n'),
    );
    const r = await importCsv(csv, join(dir, 'out-many'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('imported 2 camera(s)');
    const yaml = await readFile(join(dir, 'out-many', '2026-11-001.yaml'), 'utf8');
    expect(yaml).toContain('crs: CGCS2000');
    const lines = r.stderr.split('\n');
    expect(lines.filter((l) => l.startsWith(`${csv}:4:`)).map((l) => l.split(' ')[1])).toEqual([
      '经度:',
      '纬度:',
      '网格编码:',
    ]);
    expect(lines.find((l) => l.startsWith(`${csv}:5:`))).toContain('bad user name in the RTSP URL');
    expect(r.stderr).not.toContain('Pw-Escape-9');
    // The gateway reads CGCS2000 positions as WGS84, unchanged.
    const cfg = await makeConfigDir({ cameras: { 'imported.yaml': yaml } });
    const store = createGatewayConfigStore({
      gatewayFile: cfg.gatewayFile,
      logger: captureLogger().logger,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      watch: false,
    });
    try {
      await store.load();
      const cams = store.cameras();
      expect(cams.map((c) => [c.id, c.location.crs, c.wgs84])).toEqual([
        ['44120200001310000011', 'CGCS2000', { lon: 112.15, lat: 23.1 }],
        ['44120200001310000012', 'CGCS2000', { lon: 112.15, lat: 23.1 }],
      ]);
    } finally {
      await store.close();
      await cfg.cleanup();
    }
  });
});

/**
 * Encodes the test text as GBK with iconv semantics, using the decoder as the table: Node has
 * a GBK decoder (ICU) but no encoder, so build the reverse map for the characters we need.
 */
class TextEncoderGbk {
  encode(s: string): Uint8Array {
    const dec = new TextDecoder('gbk');
    const table = new Map<string, number[]>();
    for (let hi = 0x81; hi <= 0xfe; hi++) {
      for (let lo = 0x40; lo <= 0xfe; lo++) {
        if (lo === 0x7f) continue;
        const ch = dec.decode(Uint8Array.of(hi, lo));
        if (ch.length === 1 && !table.has(ch)) table.set(ch, [hi, lo]);
      }
    }
    const out: number[] = [];
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      if (c < 0x80) out.push(c);
      else out.push(...(table.get(ch) ?? [0x3f]));
    }
    return Uint8Array.from(out);
  }
}
