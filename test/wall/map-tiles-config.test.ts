import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGatewayFile } from '../../app/gateway-file.js';
import { tileOrigins } from '../../features/wall/wall-config.js';

/** wall.map.tiles in gateway.yaml: a tile template is http(s) with {z}/{x}/{y}, or refused by name. */
const root = mkdtempSync(join(tmpdir(), 'gw-tiles-cfg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function load(yaml: string): Promise<Error | Awaited<ReturnType<typeof loadGatewayFile>>> {
  const file = join(root, 'gateway.yaml');
  writeFileSync(file, yaml);
  return loadGatewayFile(file).catch((e: unknown) => e as Error);
}

describe('wall.map.tiles', () => {
  it.each([
    ['not http or https', 'ftp://tiles.example.cn/{z}/{x}/{y}.png'],
    ['javascript:', 'javascript:alert(1)//{z}/{x}/{y}'],
    ['missing {z}', 'http://tiles.example.cn/{x}/{y}.png'],
    ['not a URL', '{z}/{x}/{y}.png'],
  ])('refuses a url %s, naming wall.map.tiles.url and the line', async (_why, url) => {
    const err = await load(`dataDir: .\nwall:\n  map:\n    tiles: { url: '${url}' }\n`);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/wall\.map\.tiles\.url/);
    expect(msg).toMatch(/:4\b|line 4/);
  });

  it('refuses an unknown crs naming wall.map.tiles.crs', async () => {
    const err = await load(
      `dataDir: .\nwall: { map: { tiles: { url: 'http://t.example.cn/{z}/{x}/{y}.png', crs: bd09 } } }\n`,
    );
    expect((err as Error).message).toMatch(/wall\.map\.tiles\.crs/);
  });

  it('takes a Tianditu-style template with {s} and fills the defaults', async () => {
    const ok = await load(
      `dataDir: .\nwall: { map: { tiles: { url: 'http://t{s}.tianditu.city.cn/vec_w/{z}/{x}/{y}', subdomains: '01' } } }\n`,
    );
    expect(ok).not.toBeInstanceOf(Error);
    const tiles = (ok as Awaited<ReturnType<typeof loadGatewayFile>>).config.wall.map.tiles!;
    expect(tiles).toMatchObject({ crs: 'wgs84', maxZoom: 18, attribution: '' });
    // The page's img-src gets exactly the hosts {s} can name.
    expect(tileOrigins(tiles)).toEqual(['http://t0.tianditu.city.cn', 'http://t1.tianditu.city.cn']);
  });

  it('has no tiles when the section is absent', async () => {
    const ok = await load('dataDir: .\n');
    expect((ok as Awaited<ReturnType<typeof loadGatewayFile>>).config.wall.map.tiles).toBeUndefined();
  });
});
