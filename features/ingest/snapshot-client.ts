import { Codes } from '../../core/errors.js';
import { createHash, randomBytes } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import type { Failure } from './classify-failure.js';
import type { RawSample } from './ffmpeg-sampler.js';

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
  const code = cause?.code ?? (e as { name?: string }).name ?? '';
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
  if (code === 'TimeoutError' || code === 'AbortError' || code === 'UND_ERR_CONNECT_TIMEOUT')
    return { state: 'offline', code: Codes.GW_CAMERA_TIMEOUT, message: 'the camera did not answer in time' };
  return {
    state: 'offline',
    code: Codes.GW_CAMERA_UNREACHABLE,
    message: `snapshot request failed (${code || 'network error'})`,
  };
}

/** Fetches one JPEG (basic or digest auth) and turns it into a sample; pixel work runs in sharp's thread pool. */
export async function fetchSnapshot(req: SnapshotRequest): Promise<RawSample> {
  const headers: Record<string, string> = {};
  if (req.auth === 'basic' && req.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${req.username}:${req.password ?? ''}`).toString('base64')}`;
  }
  let res: Response;
  try {
    res = await fetch(req.url, { headers, signal: AbortSignal.timeout(req.timeoutMs), redirect: 'follow' });
    if (res.status === 401 && req.auth === 'digest' && req.username !== undefined) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      await res.arrayBuffer();
      if (/^Digest/i.test(challenge)) {
        headers.authorization = digestHeader('GET', req.url, req.username, req.password ?? '', challenge);
        res = await fetch(req.url, {
          headers,
          signal: AbortSignal.timeout(req.timeoutMs),
          redirect: 'follow',
        });
      }
    }
  } catch (e) {
    throw new SnapshotFailure(networkFailure(e));
  }
  const body = Buffer.from(await res.arrayBuffer());
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
  if (!res.ok)
    throw new SnapshotFailure({
      state: 'offline',
      code: Codes.GW_CAMERA_SERVER_ERROR,
      message: `the camera answered HTTP ${res.status}`,
    });
  const arrivedAt = Date.now();
  let meta: Metadata;
  try {
    meta = await sharp(body).metadata();
  } catch {
    throw new SnapshotFailure({
      state: 'misconfigured',
      code: Codes.GW_CAMERA_NOT_IMAGE,
      message: `the URL did not return an image (content-type ${res.headers.get('content-type') ?? 'none'})`,
    });
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  const rgb = await sharp(body).removeAlpha().resize(req.width, req.height, { fit: 'fill' }).raw().toBuffer();
  let jpeg = body;
  let jw = w;
  let jh = h;
  if (meta.format !== 'jpeg' || w > 1280) {
    const out = await sharp(body)
      .resize({ width: Math.min(1280, w), withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
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
