/**
 * The evidence blob stores behind one interface (core/evidence/blob-store.ts), the same
 * checks run on both: a directory and Redis (a real redis-server). put/get/stat/delete/list
 * by key, streamed bodies larger than one chunk, no partial object visible while a stream is
 * being written, keys that try to leave the store refused, and Redis's retention TTL. Then the
 * evidence store over Redis from two processes: what one process wrote, another reads.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../core/evidence/blob-store.js';
import { createDirBlobStore } from '../../core/evidence/dir-blob-store.js';
import { createEvidenceStore } from '../../core/evidence/evidence-store.js';
import { createRedisBlobStore } from '../../core/evidence/redis-blob-store.js';
import { Codes, GridwatchError } from '../../core/errors.js';
import { REPO_ROOT } from '../helpers/media.js';
import { startTestRedis } from '../helpers/redis.js';
import { waitFor } from './support.js';

let redis: Awaited<ReturnType<typeof startTestRedis>>;
let dir: string;
const opened: BlobStore[] = [];
let n = 0;

beforeAll(async () => {
  redis = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'gw-blobs-'));
});
afterAll(async () => {
  for (const s of opened) await s.close();
  await redis.close();
  await rm(dir, { recursive: true, force: true });
});

const makers: Record<string, (chunkBytes: number, ttlMs?: number) => BlobStore> = {
  dir: () => createDirBlobStore({ dir: join(dir, `d${++n}`) }),
  redis: (chunkBytes, ttlMs = 60_000) =>
    createRedisBlobStore({ redisUrl: redis.url, prefix: `ev${++n}`, ttlMs, chunkBytes }),
};
const make = (kind: string, chunkBytes = 1024, ttlMs?: number) => {
  const s = makers[kind]!(chunkBytes, ttlMs);
  opened.push(s);
  return s;
};
const code = async (p: Promise<unknown>) => {
  try {
    await p;
    return null;
  } catch (err) {
    return err instanceof GridwatchError ? err.code : String(err);
  }
};
const bytes = (len: number, seed: number) =>
  Buffer.from(Array.from({ length: len }, (_, i) => (i * seed) & 0xff));

describe.each(['dir', 'redis'])('%s blob store', (kind) => {
  it('puts, gets (streamed, several chunks), stats, lists by prefix and deletes by key', async () => {
    const s = make(kind, 1024);
    const a = bytes(5_000, 7);
    await s.put('2026-12-01/a.jpg', a);
    await s.put('2026-12-01/b.jpg', Readable.from([bytes(3_000, 3), bytes(2_500, 5)]));
    await s.put('2026-12-02/c.jpg', Buffer.from('c'));
    expect(Buffer.compare(await buffer(await s.get('2026-12-01/a.jpg')), a)).toBe(0);
    expect(await buffer(await s.get('2026-12-01/b.jpg'))).toEqual(
      Buffer.concat([bytes(3_000, 3), bytes(2_500, 5)]),
    );
    expect((await s.stat('2026-12-01/b.jpg'))?.size).toBe(5_500);
    expect(await s.stat('2026-12-01/none.jpg')).toBeNull();
    const day: string[] = [];
    for await (const b of s.list('2026-12-01/')) day.push(`${b.key}:${b.size}`);
    expect(day).toEqual(['2026-12-01/a.jpg:5000', '2026-12-01/b.jpg:5500']);
    const all: string[] = [];
    for await (const b of s.list()) all.push(b.key);
    expect(all).toEqual(['2026-12-01/a.jpg', '2026-12-01/b.jpg', '2026-12-02/c.jpg']);
    expect(await s.delete('2026-12-01/a.jpg')).toBe(true);
    expect(await s.delete('2026-12-01/a.jpg')).toBe(false);
    expect(await code(s.get('2026-12-01/a.jpg'))).toBe(Codes.GW_EVIDENCE_EXPIRED);
  });

  it('shows nothing of an object until its streamed write has finished', async () => {
    const s = make(kind, 1024);
    const body = new PassThrough();
    const writing = s.put('2026-12-01/slow.jpg', body);
    body.write(bytes(4_000, 11));
    await new Promise((r) => setTimeout(r, 100));
    expect(await code(s.get('2026-12-01/slow.jpg'))).toBe(Codes.GW_EVIDENCE_EXPIRED);
    expect(await s.stat('2026-12-01/slow.jpg')).toBeNull();
    body.end(bytes(1_000, 13));
    await writing;
    expect((await s.stat('2026-12-01/slow.jpg'))?.size).toBe(5_000);
  });

  it('refuses keys that leave the store', async () => {
    const s = make(kind);
    for (const key of ['../x.jpg', '/etc/passwd', '2026-12-01/../../x', 'a\\b', '', '.hidden'])
      expect(await code(s.put(key, Buffer.from('x')))).toBe(Codes.GW_EVIDENCE_PATH);
  });
});

describe('redis blob store', () => {
  it('lets Redis expire evidence after the retention TTL', async () => {
    const s = make('redis', 1024, 300);
    await s.put('2026-12-01/old.jpg', Buffer.from('x'));
    await waitFor('the object to expire', async () => (await s.stat('2026-12-01/old.jpg')) === null, 5_000);
    expect(await code(s.get('2026-12-01/old.jpg'))).toBe(Codes.GW_EVIDENCE_EXPIRED);
    const left: string[] = [];
    for await (const b of s.list()) left.push(b.key);
    expect(left).toEqual([]);
  });

  it('serves to one process the evidence another process wrote', async () => {
    const prefix = 'ev-shared';
    // The writer is its own process: nothing is shared with this one but Redis.
    const script = `
      import { createEvidenceStore } from './core/evidence/evidence-store.ts';
      import { createRedisBlobStore } from './core/evidence/redis-blob-store.ts';
      const blobs = createRedisBlobStore({ redisUrl: process.env.URL, prefix: '${prefix}', ttlMs: 60000 });
      const ev = createEvidenceStore({ dir: '/nonexistent', blobs });
      const rel = await ev.put('cam-1_1700000000000', Buffer.alloc(70000, 0xd8), 1700000000000);
      process.stdout.write(rel);
      await ev.close();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, URL: redis.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    expect(out).toBe('2023-11-15/cam-1_1700000000000.jpg');
    const reader = createEvidenceStore({
      dir: join(dir, 'unused'),
      blobs: createRedisBlobStore({ redisUrl: redis.url, prefix, ttlMs: 60_000 }),
    });
    const jpeg = await reader.read(out);
    expect(jpeg).toEqual(Buffer.alloc(70_000, 0xd8));
    expect(reader.dir).toBeNull();
    expect((await reader.check()).ok).toBe(true);
    expect(await code(reader.read('2023-11-15/other.jpg'))).toBe(Codes.GW_EVIDENCE_EXPIRED);
    expect(await code(reader.read('../../etc/passwd'))).toBe(Codes.GW_EVIDENCE_PATH);
    await reader.close();
  });
});
