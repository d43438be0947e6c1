import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names, shared by outgoing cases and incoming callbacks (docs/integration.md). */
export const SIG_HEADERS = {
  timestamp: 'x-gridwatch-timestamp',
  signature: 'x-gridwatch-signature',
  target: 'x-gridwatch-target',
  idempotencyKey: 'idempotency-key',
} as const;

/**
 * HMAC-SHA256 over `<unix seconds>.<raw body>`, hex. The timestamp is inside the MAC so a
 * captured request cannot be replayed later with a fresh timestamp.
 */
export function sign(secret: string, timestampSec: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSec}.`).update(body).digest('hex');
}

export function signatureHeader(secret: string, timestampSec: number, body: string | Buffer): string {
  return `v1=${sign(secret, timestampSec, body)}`;
}

/** Constant-time check of a `v1=<hex>` header. */
export function verifySignature(secret: string, timestampSec: number, body: Buffer, header: string): boolean {
  const m = /^v1=([0-9a-f]{64})$/.exec(header.trim());
  if (!m) return false;
  const want = Buffer.from(sign(secret, timestampSec, body), 'hex');
  const got = Buffer.from(m[1]!, 'hex');
  return want.length === got.length && timingSafeEqual(want, got);
}
