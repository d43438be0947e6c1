import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { REPO_ROOT } from '../helpers/media.js';

export interface RawReply {
  status: number;
  type: string;
  text: string;
  ms: number;
}

/** One HTTP request with the path on the wire exactly as given (no URL normalising). */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
  timeoutMs = 10_000,
): Promise<RawReply> {
  const u = new URL(base);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path, headers: { ...headers, connection: 'close' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - t0,
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no reply within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server may answer (413) and close before a huge body is sent: that is a reply.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET')
        resolve({ status: -1, type: '', text: '', ms: 0 });
      else reject(err);
    });
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const STACK = /\bat (?:async )?[\w$.<>[\] ]*\(?[^()\s]*:\d+:\d+\)?/;
const ABSOLUTE = /(?:^|[\s"'(=:])\/(?:work|home|tmp|usr|root|var|etc|opt|srv|proc)\//;

/** What must never be in a reply: a stack frame, an absolute path of this machine. Null when clean. */
export function leak(text: string, extraPaths: readonly string[] = []): string | null {
  if (STACK.test(text)) return `a stack frame (${STACK.exec(text)![0]})`;
  for (const p of [REPO_ROOT, tmpdir() + '/', ...extraPaths])
    if (p && text.includes(p)) return `the path ${p}`;
  const m = ABSOLUTE.exec(text);
  return m ? `an absolute path (${m[0].trim()})` : null;
}
