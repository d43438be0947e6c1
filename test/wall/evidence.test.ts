import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, type Gateway } from '../../app/build-gateway.js';
import { createLogger } from '../../core/logger.js';
import { evidenceLink } from '../../features/dispatcher/evidence-links.js';
import { hashPassword } from '../../features/wall/password-hash.js';
import { startTestRedis } from '../helpers/redis.js';
import { launchChromium, openWall } from './helpers/browser.js';
import { GRID_FILE, logSink, PASSWORD, startHarness, type Harness } from './helpers/wall-harness.js';

/**
 * Evidence older than its retention is gone while the alert stays (30 days against 180 by
 * default): that is a 404 with GW_EVIDENCE_EXPIRED on the wall and on the platform's signed
 * link, never a 500 with a path. An unwritable store makes readiness degraded and a metric.
 */
describe('wall: evidence removed by retention', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ logLevel: 'warn' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('GET /api/v1/alerts/:id/evidence/latest is 404 GW_EVIDENCE_EXPIRED; the alert still opens', async () => {
    const a = await h.inject({ cameraId: 'cam-df-01' });
    const s = await h.login('zhangwei');
    const get = (p: string) =>
      fetch(`${h.url}/api/v1${p}`, { headers: { authorization: `Bearer ${s.token}` } });
    const before = await get(`/alerts/${a.id}/evidence/latest`);
    expect(before.status).toBe(200);
    await before.body?.cancel();
    await rm(join(h.dataDir, 'evidence', a.evidence.latest!));
    const r = await get(`/alerts/${a.id}/evidence/latest`);
    const text = await r.text();
    expect(r.status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ code: 'GW_EVIDENCE_EXPIRED' });
    expect(text).not.toContain(h.dataDir);
    expect((await get(`/alerts/${a.id}`)).status).toBe(200);
    expect(h.logs.lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50)).toEqual([]);
  });
});

describe('gateway (buildGateway, roles wall + dispatch)', () => {
  let root: string;
  let redis: Awaited<ReturnType<typeof startTestRedis>>;
  let gw: Gateway;
  const SECRET = 'platform-shared-secret-31ab';
  const { stream } = logSink();

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gw-evidence-'));
    redis = await startTestRedis();
    writeFileSync(join(root, 'platform.secret'), SECRET);
    mkdirSync(join(root, 'cameras'));
    const hash = await hashPassword(PASSWORD);
    writeFileSync(
      join(root, 'gateway.yaml'),
      `http: { host: 127.0.0.1, port: 0 }\ndataDir: ./var\ngrids: { file: ${JSON.stringify(GRID_FILE)} }\n` +
        `users:\n  - { username: admin, displayName: 管理员, role: admin, scope: '3301', passwordHash: '${hash}' }\n` +
        `forwarding:\n  - { id: city, url: 'http://127.0.0.1:9/cases', secret: { file: platform.secret } }\n`,
    );
    gw = await buildGateway({
      config: join(root, 'gateway.yaml'),
      roles: ['wall', 'dispatch'],
      redisUrl: redis.url,
      logger: createLogger({ level: 'warn', destination: stream }),
    });
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('the signed platform link to evidence no longer kept is 404 GW_EVIDENCE_EXPIRED', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const link = evidenceLink(gw.url!, '2026-01-02/gone.jpg', { id: 'city', secretValue: SECRET }, exp);
    const r = await fetch(link);
    const text = await r.text();
    expect(r.status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ code: 'GW_EVIDENCE_EXPIRED' });
    expect(text).not.toContain(root);
  });

  it('an unwritable evidence store makes /readyz degraded (still 200) and gridwatch_evidence_writable 0', async () => {
    const ok = (await (await fetch(`${gw.url}/readyz`)).json()) as { status: string };
    expect(ok.status).toBe('ok');
    const dir = join(root, 'var', 'evidence');
    // Root ignores permission bits, so the store is broken the way a lost mount breaks it:
    // the directory is not a directory any more.
    await rm(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a directory');
    // The probe result stands for 5 s; ask until the next probe has run.
    let body: { status: string; ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
    let status: number;
    for (;;) {
      const r = await fetch(`${gw.url}/readyz`);
      status = r.status;
      body = (await r.json()) as typeof body;
      if (body.status !== 'ok') break;
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(status).toBe(200);
    expect(body.status).toBe('degraded');
    expect(body.ready).toBe(true);
    expect(body.checks.evidence).toMatchObject({ ok: false, critical: false });
    expect(body.checks.evidence?.detail).toMatch(/not writable \(E[A-Z]+\)/);
    expect(JSON.stringify(body)).not.toContain(root);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/^gridwatch_evidence_writable 0$/m);
    expect(metrics).toMatch(/^gridwatch_evidence_write_failures_total\{code="E[A-Z]+"\} [1-9]/m);
    // The admin is told on the admin page, not only by /readyz.
    const browser = await launchChromium();
    try {
      const admin = await openWall(browser, gw.url!, 'admin', PASSWORD);
      await admin.page.goto(`${gw.url}/#admin`);
      const notice = admin.page.locator('[data-notice="evidence_unwritable"]');
      await notice.waitFor();
      expect(await notice.locator('h2').innerText()).toBe('系统提醒');
      expect(await notice.locator('p').innerText()).toMatch(/^证据存储不可写（E[A-Z]+，已失败 [1-9]\d* 次）/);
      expect(await notice.innerText()).not.toContain(root);
      // The page asks for the session once before login: that 401 is expected.
      expect(admin.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
