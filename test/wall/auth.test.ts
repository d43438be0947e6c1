import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../features/wall/password-hash.js';
import { REPO_ROOT } from '../helpers/media.js';

describe('password hashes', () => {
  it('makes scrypt$16384$8$1$salt$hash with a fresh salt each time and verifies only the right password', async () => {
    const a = await hashPassword('巡检-Secret 1');
    const b = await hashPassword('巡检-Secret 1');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    expect(a).not.toBe(b);
    expect(parsePasswordHash(a).key).toHaveLength(64);
    expect(await verifyPassword('巡检-Secret 1', a)).toBe(true);
    expect(await verifyPassword('巡检-Secret 2', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('treats NFC and NFD spellings of the same password as equal', async () => {
    const h = await hashPassword('café');
    expect(await verifyPassword('cafe\u0301', h)).toBe(true);
  });

  it('refuses malformed hashes with a clear error', async () => {
    expect(() => parsePasswordHash('bcrypt$...')).toThrow(/scrypt\$N\$r\$p\$salt\$hash/);
    expect(() => parsePasswordHash('scrypt$1000$8$1$AAAA$BBBB')).toThrow(/power of two/);
    await expect(verifyPassword('x', 'scrypt$16384$8$1$$')).rejects.toThrow(/scrypt/);
  });

  it('scripts/hash-password.ts reads stdin and prints a hash that verifies', async () => {
    const r = spawnSync('npx', ['tsx', 'scripts/hash-password.ts'], {
      cwd: REPO_ROOT,
      input: 'pa55-词\n',
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const hash = r.stdout.trim();
    expect(hash.startsWith('scrypt$16384$8$1$')).toBe(true);
    expect(await verifyPassword('pa55-词', hash)).toBe(true);
    const empty = spawnSync('npx', ['tsx', 'scripts/hash-password.ts'], {
      cwd: REPO_ROOT,
      input: '',
      encoding: 'utf8',
    });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/no password on stdin/);
  });
});
