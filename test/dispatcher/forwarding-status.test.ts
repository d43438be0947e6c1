import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyForwardError, sendErrorText } from '../../features/dispatcher/forwarding-status.js';

// The reason codes the wall shows for a failed send come from a heuristic on the error text:
// here it meets the real errors Node's fetch gives (as the forwarder formats them).

let silent: Server;
let silentUrl: string;
let closedUrl: string;
beforeAll(async () => {
  // Accepts connections and never answers: the send times out.
  silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closedUrl = `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
  await new Promise<void>((r) => s.close(() => r()));
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise<void>((r) => silent.close(() => r()));
});

async function failure(url: string, timeoutMs = 5_000): Promise<string> {
  try {
    await fetch(url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return sendErrorText(err);
  }
  throw new Error(`${url} answered`);
}

describe('classifyForwardError', () => {
  it('sorts the errors fetch really gives', async () => {
    expect(classifyForwardError(null, await failure(closedUrl))).toBe('connection_refused');
    expect(classifyForwardError(null, await failure(silentUrl, 300))).toBe('timeout');
    // .invalid never resolves (RFC 6761): ENOTFOUND, or EAI_AGAIN on a machine without DNS.
    expect(classifyForwardError(null, await failure('http://platform.gridwatch.invalid/'))).toBe('dns');
  });

  it('goes by the HTTP status when there is one, and says `other` for what it does not know', () => {
    expect(classifyForwardError(503, 'HTTP 503: maintenance')).toBe('http_5xx');
    expect(classifyForwardError(400, 'HTTP 400: bad case')).toBe('http_4xx');
    expect(classifyForwardError(null, 'waiting for message 1 of alert a1 to be acknowledged by city')).toBe(
      'order_wait',
    );
    expect(classifyForwardError(null, 'forward job 7: target city is no longer configured')).toBe(
      'target_removed',
    );
    expect(classifyForwardError(null, 'RangeError: something odd')).toBe('other');
  });
});
