import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvidenceRouter, evidenceLink } from '../../features/dispatcher/evidence-links.js';
import type { ResolvedTarget } from '../../features/dispatcher/forwarder.js';
import { createEvidenceStore } from '../../core/evidence/evidence-store.js';
import { createLogger } from '../../core/logger.js';

const target = { id: 'city-platform', secretValue: 'shared-secret-of-the-platform' } as ResolvedTarget;
const other = { id: 'other', secretValue: 'another-secret' } as ResolvedTarget;
let dir: string;
let base: string;
let close: () => void;
let rel: string;
let now = Date.parse('2026-11-27T10:00:00+08:00');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-evl-'));
  const evidence = createEvidenceStore({ dir });
  rel = await evidence.put('cam-a_1', Buffer.from([0xff, 0xd8, 0xff, 0xd9]), now);
  const app = express();
  app.use(
    '/evidence',
    createEvidenceRouter({
      targets: [target, other],
      evidence,
      clock: () => now,
      logger: createLogger({ pretty: false, level: 'silent' }),
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});
afterAll(async () => {
  close();
  await rm(dir, { recursive: true, force: true });
});

describe('signed evidence links for the grid platform', () => {
  it('serves the image for a valid link', async () => {
    const url = evidenceLink(base, rel, target, Math.floor(now / 1000) + 60);
    const r = await fetch(url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await r.arrayBuffer())).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  });

  it('refuses a link bent to another image, another target, a tampered expiry, or an expired one', async () => {
    const exp = Math.floor(now / 1000) + 60;
    const good = new URL(evidenceLink(base, rel, target, exp));
    const otherImage = new URL(good);
    otherImage.pathname = otherImage.pathname.replace('cam-a_1', 'cam-a_2');
    const otherTarget = new URL(good);
    otherTarget.searchParams.set('t', 'other');
    const later = new URL(good);
    later.searchParams.set('exp', String(exp + 86_400));
    for (const u of [otherImage, otherTarget, later]) {
      const r = await fetch(u);
      expect(r.status).toBe(403);
      expect(((await r.json()) as { code: string }).code).toBe('GW_EVIDENCE_LINK');
    }
    now += 61_000;
    const expired = await fetch(good);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { code: string }).code).toBe('GW_EVIDENCE_LINK_EXPIRED');
  });

  it('refuses paths outside the store', async () => {
    const bad = evidenceLink(base, '..%2F..%2Fetc/passwd', target, Math.floor(now / 1000) + 60);
    const r = await fetch(bad);
    expect([400, 403, 404]).toContain(r.status);
  });
});
