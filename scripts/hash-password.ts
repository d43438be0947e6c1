/**
 * Reads a password from stdin and prints its scrypt hash for `users[].passwordHash`.
 *   printf '%s' 'secret' | npx tsx scripts/hash-password.ts
 * Only the first line counts, so `echo secret | …` gives the same hash input as printf.
 */
import { hashPassword } from '../features/wall/password-hash.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const input = (await readStdin()).split(/\r?\n/)[0] ?? '';
if (!input) {
  process.stderr.write(
    'hash-password: no password on stdin (usage: printf %s PASSWORD | npx tsx scripts/hash-password.ts)\n',
  );
  process.exit(2);
}
process.stdout.write(`${await hashPassword(input)}\n`);
