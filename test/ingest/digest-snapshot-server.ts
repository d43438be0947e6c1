import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ARTIFACTS_DIR, mediaPath } from '../helpers/media.js';

/**
 * Real JPEG frames of a shared clip, decoded once with ffmpeg and cached in test/.artifacts
 * (one frame per second of footage, at the clip's own size).
 */
export function realJpegFrames(clip = 'vtest.avi', count = 20): Buffer[] {
  const dir = join(ARTIFACTS_DIR, `snapshots-${clip.replace(/\W/g, '_')}-${count}`);
  if (!existsSync(join(dir, 'done'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('ffmpeg', [
      ...['-y', '-loglevel', 'error', '-i', mediaPath(clip), '-vf', 'fps=1', '-frames:v', String(count)],
      ...['-q:v', '4', join(dir, 'f%03d.jpg')],
    ]);
    execFileSync('touch', [join(dir, 'done')]);
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

export interface DigestSnapshotServer {
  /** http://127.0.0.1:PORT/cam/ID/snapshot.jpg (no credentials). */
  url(id: string): string;
  stats(): {
    requests: number;
    /** Requests answered 401 (challenges, including wrong passwords). */
    challenged: number;
    served: number;
    /** TCP connections accepted: with keep-alive far fewer than requests. */
    connections: number;
    /** Most requests in flight at once. */
    maxInFlight: number;
    /** Authorization headers seen whose nc did not increase for their nonce (replays). */
    replays: number;
    /** 401s per request path (one camera each). */
    challengedByPath: Record<string, number>;
  };
  close(): Promise<void>;
}

/**
 * An IP camera's HTTP snapshot endpoint for many cameras: RFC 7616 digest auth (MD5, qop=auth),
 * a nonce that lives `nonceTtlMs` (then `stale=true`, as cameras do), nc checked per nonce, and
 * keep-alive. Each request is held `delayMs` before the JPEG is sent, so concurrency is visible.
 */
export async function startDigestSnapshotServer(o: {
  username: string;
  password: string;
  frames: Buffer[];
  nonceTtlMs?: number;
  delayMs?: number;
}): Promise<DigestSnapshotServer> {
  const realm = 'IP Camera(digest-sim)';
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const nonces = new Map<string, { born: number; nc: number }>();
  const st = { requests: 0, challenged: 0, served: 0, connections: 0, maxInFlight: 0, replays: 0 };
  const byPath: Record<string, number> = {};
  let inFlight = 0;
  let n = 0;

  const challenge = (res: ServerResponse, stale: boolean, path = '') => {
    st.challenged++;
    byPath[path] = (byPath[path] ?? 0) + 1;
    const nonce = randomBytes(12).toString('hex');
    nonces.set(nonce, { born: Date.now(), nc: 0 });
    res
      .writeHead(401, {
        'www-authenticate': `Digest realm="${realm}", qop="auth", nonce="${nonce}", algorithm=MD5${stale ? ', stale=true' : ''}`,
        'content-length': 0,
      })
      .end();
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    st.requests++;
    const auth = req.headers.authorization ?? '';
    const f = Object.fromEntries([...auth.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1], m[2]]));
    const known = f.nonce ? nonces.get(f.nonce) : undefined;
    if (!/^Digest /.test(auth) || !known || f.username !== o.username) return challenge(res, false, req.url);
    const expect = md5(
      `${md5(`${o.username}:${realm}:${o.password}`)}:${f.nonce}:${f.nc}:${f.cnonce}:${f.qop}:${md5(`GET:${f.uri}`)}`,
    );
    if (expect !== f.response) return challenge(res, false, req.url);
    if (Date.now() - known.born > (o.nonceTtlMs ?? 60_000)) return challenge(res, true, req.url);
    const nc = parseInt(f.nc ?? '0', 16);
    if (!(nc > known.nc)) {
      st.replays++;
      return challenge(res, true, req.url);
    }
    known.nc = nc;
    const jpeg = o.frames[n++ % o.frames.length]!;
    inFlight++;
    st.maxInFlight = Math.max(st.maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      st.served++;
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length }).end(jpeg);
    }, o.delayMs ?? 0);
  }

  const server = createServer({ keepAlive: true, keepAliveTimeout: 30_000 }, handle);
  server.on('connection', () => st.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (id) => `http://127.0.0.1:${port}/cam/${encodeURIComponent(id)}/snapshot.jpg`,
    stats: () => ({ ...st, challengedByPath: { ...byPath } }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
