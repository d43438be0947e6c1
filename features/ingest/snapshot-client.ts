import { Codes } from '../../core/errors.js';
import { createHash, randomBytes } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import type { Failure } from './classify-failure.js';
import type { RawSample } from './ffmpeg-sampler.js';
import { createLimiter, type Limiter } from '../../core/util/limiter.js';

export interface SnapshotRequest {
  url: string;
  auth: 'none' | 'basic' | 'digest';
  username?: string;
  password?: string;
  timeoutMs: number;
  width: number;
  height: number;
}

/** A snapshot fetch that failed, already classified. */
export class SnapshotFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function parseChallenge(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.replace(/^Digest\s+/i, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) {
    out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return out;
}

/** RFC 7616 digest response (MD5, qop=auth), which is what IP cameras implement. */
export function digestHeader(
  method: string,
  url: string,
  user: string,
  pass: string,
  challenge: string,
  nc = 1,
): string {
  const c = parseChallenge(challenge);
  if (c.algorithm && !/^MD5$/i.test(c.algorithm))
    throw new SnapshotFailure({
      state: 'misconfigured',
      code: Codes.GW_CAMERA_AUTH_FAILED,
      message: `the camera asks for digest algorithm ${c.algorithm.slice(0, 20)}; only MD5 is supported`,
    });
  const uri = new URL(url);
  const path = uri.pathname + uri.search;
  const ha1 = md5(`${user}:${c.realm ?? ''}:${pass}`);
  const ha2 = md5(`${method}:${path}`);
  const ncHex = nc.toString(16).padStart(8, '0');
  const cnonce = randomBytes(8).toString('hex');
  const qop = c.qop
    ?.split(',')
    .map((q) => q.trim())
    .includes('auth')
    ? 'auth'
    : undefined;
  const response = qop
    ? md5(`${ha1}:${c.nonce}:${ncHex}:${cnonce}:${qop}:${ha2}`)
    : md5(`${ha1}:${c.nonce}:${ha2}`);
  const parts = [
    `username="${user}"`,
    `realm="${c.realm ?? ''}"`,
    `nonce="${c.nonce ?? ''}"`,
    `uri="${path}"`,
    `response="${response}"`,
  ];
  if (qop) parts.push(`qop=${qop}`, `nc=${ncHex}`, `cnonce="${cnonce}"`);
  if (c.opaque) parts.push(`opaque="${c.opaque}"`);
  if (c.algorithm) parts.push(`algorithm=${c.algorithm}`);
  return `Digest ${parts.join(', ')}`;
}

function networkFailure(e: unknown): Failure {
  const cause = (e as { cause?: { code?: string } }).cause;
  const code = (e as { code?: string }).code ?? cause?.code ?? (e as { name?: string }).name ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return {
      state: 'misconfigured',
      code: Codes.GW_CAMERA_UNKNOWN_HOST,
      message: 'the camera host name does not resolve',
    };
  if (code === 'ECONNREFUSED')
    return {
      state: 'offline',
      code: Codes.GW_CAMERA_CONNECTION_REFUSED,
      message: 'connection refused (camera or its HTTP service is down)',
    };
  if (
    code === 'TimeoutError' ||
    code === 'AbortError' ||
    code === 'ABORT_ERR' ||
    code === 'ETIMEDOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  )
    return { state: 'offline', code: Codes.GW_CAMERA_TIMEOUT, message: 'the camera did not answer in time' };
  return {
    state: 'offline',
    code: Codes.GW_CAMERA_UNREACHABLE,
    message: `snapshot request failed (${code || 'network error'})`,
  };
}

export interface SnapshotClientOptions {
  /** Requests in flight at once, all cameras together; the rest wait in arrival order. */
  maxConcurrent: number;
  /**
   * Sockets per host (kept alive between samples). A camera serves one client at a time well: 2;
   * an NVR serving every channel's snapshot at one address needs more.
   */
  maxSocketsPerHost?: number;
  /** Largest body accepted (bytes): a camera streaming MJPEG at a snapshot URL must not fill memory. */
  maxBytes?: number;
  /**
   * JPEG → RGB decodes running at once (default: the cores). A decode keeps a core busy for its
   * whole 4-9 ms, so more at once than cores adds no throughput; it only lets a burst of samples
   * take every core from the node's other work (detector workers, RTSP samplers). The others
   * wait in arrival order.
   */
  decodeConcurrency?: number;
  /**
   * fast: the image size from the JPEG header and one sharp pipeline per sample, at most
   * `decodeConcurrency` at once. reference: the earlier path (sharp metadata, then the pipeline,
   * no decode limit), kept so `npm run bench:snapshot` measures both side by side.
   */
  decodePath?: 'fast' | 'reference';
}

export interface SnapshotClient {
  fetch(req: SnapshotRequest, signal?: AbortSignal): Promise<RawSample>;
  stats(): { inFlight: number; waiting: number; digestReused: number; challenges: number };
  close(): Promise<void>;
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/**
 * HTTP snapshots for a fleet: one keep-alive agent per scheme (a camera's TCP and TLS set-up is
 * paid once, not every interval), a concurrency limit across all cameras (a node with 1,000
 * snapshot cameras does not open 1,000 sockets in the same second after a restart), and digest
 * auth that keeps each camera's nonce and counts `nc` up, so a sample costs one request instead of
 * a 401 round trip every time (a stale or rejected nonce falls back to one fresh challenge).
 * Credentials go only into the Authorization header; no error or log line carries them or the URL.
 */
export function createSnapshotClient(o: SnapshotClientOptions): SnapshotClient {
  const maxBytes = o.maxBytes ?? 16 * 1024 * 1024;
  const agentOpts = {
    keepAlive: true,
    maxSockets: o.maxSocketsPerHost ?? 2,
    maxFreeSockets: o.maxSocketsPerHost ?? 2,
  };
  const http = new HttpAgent(agentOpts);
  const https = new HttpsAgent(agentOpts);
  /** Per camera origin + user: the last digest challenge and its nonce count. */
  const nonces = new Map<string, { challenge: string; nc: number }>();
  let digestReused = 0;
  let challenges = 0;
  let closing: Promise<void> | null = null;
  const decodeLimit = createLimiter(
    o.decodePath === 'reference' ? Number.POSITIVE_INFINITY : (o.decodeConcurrency ?? availableParallelism()),
  );

  const requests = createLimiter(o.maxConcurrent);
  const stopped = () =>
    new SnapshotFailure({
      state: 'offline',
      code: Codes.GW_CAMERA_TIMEOUT,
      message: 'stopped while waiting',
    });
  const slot = (signal?: AbortSignal) => requests.acquire(signal, stopped);

  function get(
    url: URL,
    headers: Record<string, string>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const tls = url.protocol === 'https:';
      const req = (tls ? httpsRequest : httpRequest)(
        url,
        { method: 'GET', headers, agent: tls ? https : http, timeout: timeoutMs, signal },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBytes) {
              res.destroy();
              reject(
                new SnapshotFailure({
                  state: 'misconfigured',
                  code: Codes.GW_CAMERA_NOT_IMAGE,
                  message: `the snapshot is larger than ${maxBytes} bytes`,
                }),
              );
              return;
            }
            chunks.push(c);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
        timeoutMs,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
      req.on('error', reject);
      req.end();
    });
  }

  async function request(req: SnapshotRequest, signal?: AbortSignal): Promise<Reply> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new SnapshotFailure({
        state: 'misconfigured',
        code: Codes.GW_CAMERA_UNREACHABLE,
        message: 'the snapshot URL is not a URL',
      });
    }
    const headers: Record<string, string> = {};
    if (req.auth === 'basic' && req.username !== undefined)
      headers.authorization = `Basic ${Buffer.from(`${req.username}:${req.password ?? ''}`).toString('base64')}`;
    // One nonce per snapshot URL and user: a camera serves its samples one after another, so its
    // nonce count rises in order (an NVR serving many channels at one origin keeps one per channel).
    const key = `${url.origin}${url.pathname}\u0000${req.username ?? ''}`;
    const digest = req.auth === 'digest' && req.username !== undefined;
    const cached = digest ? nonces.get(key) : undefined;
    if (cached) {
      cached.nc++;
      headers.authorization = digestHeader(
        'GET',
        req.url,
        req.username!,
        req.password ?? '',
        cached.challenge,
        cached.nc,
      );
      digestReused++;
    }
    let res = await get(url, headers, req.timeoutMs, signal);
    if (res.status === 401 && digest) {
      const challenge = String(res.headers['www-authenticate'] ?? '');
      // A fresh challenge after a reused nonce was refused (stale, or the camera rebooted): once more.
      if (/^Digest/i.test(challenge)) {
        challenges++;
        nonces.set(key, { challenge, nc: 1 });
        headers.authorization = digestHeader('GET', req.url, req.username!, req.password ?? '', challenge, 1);
        res = await get(url, headers, req.timeoutMs, signal);
        if (res.status === 401) nonces.delete(key);
      }
    }
    return res;
  }

  return {
    async fetch(req, signal) {
      if (closing)
        throw new SnapshotFailure({
          state: 'offline',
          code: Codes.GW_CAMERA_TIMEOUT,
          message: 'the snapshot client is closed',
        });
      const release = await slot(signal);
      let res: Reply;
      try {
        res = await request(req, signal);
      } catch (e) {
        if (e instanceof SnapshotFailure) throw e;
        throw new SnapshotFailure(networkFailure(e));
      } finally {
        release();
      }
      return o.decodePath === 'reference' ? toSampleReference(res, req) : toSample(res, req, decodeLimit);
    },
    stats: () => ({ inFlight: requests.active, waiting: requests.waiting, digestReused, challenges }),
    close() {
      closing ??= (async () => {
        requests.rejectWaiting(stopped());
        http.destroy();
        https.destroy();
      })();
      return closing;
    },
  };
}

/** Refuses replies that carry no snapshot, with the catalogue's reasons. */
function checkReply(res: Reply): void {
  if (res.status === 401 || res.status === 403) {
    throw new SnapshotFailure({
      state: 'misconfigured',
      code: Codes.GW_CAMERA_AUTH_FAILED,
      message: `the camera rejected the credentials (HTTP ${res.status})`,
    });
  }
  if (res.status === 404)
    throw new SnapshotFailure({
      state: 'misconfigured',
      code: Codes.GW_CAMERA_STREAM_NOT_FOUND,
      message: 'no snapshot at this URL (HTTP 404)',
    });
  if (res.status < 200 || res.status >= 300)
    throw new SnapshotFailure({
      state: 'offline',
      code: Codes.GW_CAMERA_SERVER_ERROR,
      message: `the camera answered HTTP ${res.status}`,
    });
}

const notImage = (res: Reply) =>
  new SnapshotFailure({
    state: 'misconfigured',
    code: Codes.GW_CAMERA_NOT_IMAGE,
    message: `the URL did not return an image (content-type ${String(res.headers['content-type'] ?? 'none').slice(0, 60)})`,
  });

/**
 * Width and height from a JPEG's frame header (SOF0-SOF15 but DHT, JPG and DAC), or null when
 * the bytes are not a JPEG whose header comes before the scan. Reading it here saves a second
 * sharp call (and thread-pool round trip) per sample; sharp still decodes and checks the data.
 */
export function jpegSize(b: Uint8Array): { width: number; height: number } | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 3 < b.length) {
    if (b[i] !== 0xff) return null;
    const m = b[i + 1]!;
    // fill bytes, and markers without a length (TEM, RSTn)
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2;
      continue;
    }
    if (m === 0xda || m === 0xd9) return null;
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (len < 2) return null;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (i + 8 >= b.length) return null;
      const height = (b[i + 5]! << 8) | b[i + 6]!;
      const width = (b[i + 7]! << 8) | b[i + 8]!;
      return width > 0 && height > 0 ? { width, height } : null;
    }
    i += 2 + len;
  }
  return null;
}

/** Checks a reply and turns it into a sample; pixel work runs in sharp's thread pool, `limit` at once. */
async function toSample(res: Reply, req: SnapshotRequest, limit: Limiter): Promise<RawSample> {
  checkReply(res);
  const body = res.body;
  const arrivedAt = Date.now();
  const size = jpegSize(body);
  // Not a JPEG (a PNG snapshot, or not an image at all): the reference path handles it.
  if (!size) return toSampleReference(res, req, arrivedAt, limit);
  let rgb: Buffer;
  try {
    rgb = await limit.run(() =>
      sharp(body).removeAlpha().resize(req.width, req.height, { fit: 'fill' }).raw().toBuffer(),
    );
  } catch {
    // A truncated or corrupt JPEG: the camera sent a broken image, not the node failing.
    throw notImage(res);
  }
  return finish(body, rgb, size.width, size.height, true, arrivedAt, (fn) => limit.run(fn));
}

/** The path before 2026-12-02: sharp metadata, then the pipeline (kept for the side-by-side bench). */
async function toSampleReference(
  res: Reply,
  req: SnapshotRequest,
  arrivedAt = Date.now(),
  limit?: Limiter,
): Promise<RawSample> {
  checkReply(res);
  const body = res.body;
  const run = <T>(fn: () => Promise<T>) => (limit ? limit.run(fn) : fn());
  let meta: { width?: number; height?: number; format?: string };
  try {
    meta = await sharp(body).metadata();
  } catch {
    throw notImage(res);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  let rgb: Buffer;
  try {
    rgb = await run(() =>
      sharp(body).removeAlpha().resize(req.width, req.height, { fit: 'fill' }).raw().toBuffer(),
    );
  } catch {
    throw notImage(res);
  }
  return finish(body, rgb, w, h, meta.format === 'jpeg', arrivedAt, run);
}

/** The evidence JPEG: the camera's own bytes when they are a JPEG of at most 1280 px, else re-encoded. */
async function finish(
  body: Buffer,
  rgb: Buffer,
  w: number,
  h: number,
  isJpeg: boolean,
  arrivedAt: number,
  run: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<RawSample> {
  let jpeg = body;
  let jw = w;
  let jh = h;
  if (!isJpeg || w > 1280) {
    const out = await run(() =>
      sharp(body)
        .resize({ width: Math.min(1280, w), withoutEnlargement: true })
        .jpeg({ quality: 80 })
        .toBuffer({ resolveWithObject: true }),
    );
    jpeg = out.data;
    jw = out.info.width;
    jh = out.info.height;
  }
  return {
    ptsSec: 0,
    arrivedAt,
    sourceWidth: w,
    sourceHeight: h,
    rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength),
    jpeg: new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength),
    jpegWidth: jw,
    jpegHeight: jh,
  };
}
