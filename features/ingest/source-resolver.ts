import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { SecretRef } from '../../core/contracts/common-schema.js';
import type { LoadedCamera } from '../../core/contracts/loaded-camera.js';
import { Codes, GridwatchError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Failure } from './classify-failure.js';
import { OnvifFailure, resolveOnvif, withCredentials, type OnvifResolution } from './onvif-resolver.js';

/** A source problem found before ffmpeg runs (bad secret, wrong mode, ONVIF failure). */
export class SourceFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

/** What ffmpeg is pointed at; `input` may carry credentials: never log it. */
export interface StreamInput {
  input: string;
  kind: 'rtsp' | 'file';
  transport: 'tcp' | 'udp';
}

export interface SourceResolver {
  streamInput(): Promise<StreamInput>;
  snapshotUrl(): Promise<string>;
  credentials(): { username?: string; password?: string };
  /** Every secret value resolved so far, for redaction. */
  secrets(): readonly string[];
  /** The connection failed / delivered: re-resolve ONVIF after repeated failures. */
  noteFailure(): void;
  noteSuccess(): void;
}

/**
 * Where a camera's stream and snapshot come from: secrets, the ONVIF resolution (cached, and
 * re-resolved after three failed connections because devices renumber profiles and change ports
 * after firmware updates), and the checks that the mode fits the source.
 */
export function createSourceResolver(d: {
  cam: LoadedCamera;
  mode: string;
  resolveSecret: (ref: SecretRef, baseDir: string) => string;
  logger: Logger;
}): SourceResolver {
  const { cam, logger: log } = d;
  const secrets: string[] = [];
  let onvifCache: OnvifResolution | null = null;
  let onvifFailures = 0;

  function secret(ref: SecretRef | string): string {
    const v = typeof ref === 'string' ? ref : d.resolveSecret(ref, cam.baseDir);
    if (!secrets.includes(v)) secrets.push(v);
    return v;
  }

  function credentials(): { username?: string; password?: string } {
    if (!cam.credentials) return {};
    try {
      return { username: secret(cam.credentials.username), password: secret(cam.credentials.password) };
    } catch (e) {
      const msg = e instanceof GridwatchError ? e.message : 'secret cannot be read';
      throw new SourceFailure({ state: 'misconfigured', code: Codes.GW_CAMERA_SECRET_MISSING, message: msg });
    }
  }

  async function onvifResolution(): Promise<OnvifResolution> {
    const s = cam.source;
    if (s.kind !== 'onvif') throw new GridwatchError(Codes.GW_INTERNAL, 'not an ONVIF source');
    if (onvifCache && onvifFailures < 3) return onvifCache;
    const c = credentials();
    try {
      onvifCache = await resolveOnvif({
        host: s.host,
        port: s.port,
        ...c,
        ...(s.profile ? { profile: s.profile } : {}),
        timeoutMs: 10_000,
        logger: log,
      });
    } catch (e) {
      if (e instanceof OnvifFailure) throw new SourceFailure(e.failure);
      throw e;
    }
    onvifFailures = 0;
    log.info({ profile: onvifCache.profile, hasSnapshot: onvifCache.snapshotUri !== null }, 'onvif resolved');
    return onvifCache;
  }

  const unsupported = (message: string) =>
    new SourceFailure({ state: 'misconfigured', code: Codes.GW_CAMERA_MODE_UNSUPPORTED, message });

  return {
    credentials,
    secrets: () => secrets,
    noteFailure() {
      if (cam.source.kind === 'onvif') onvifFailures++;
    },
    noteSuccess() {
      onvifFailures = 0;
    },
    async streamInput() {
      const s = cam.source;
      switch (s.kind) {
        case 'rtsp': {
          const c = credentials();
          return {
            input: withCredentials(s.url, c.username, c.password),
            kind: 'rtsp',
            transport: s.transport,
          };
        }
        case 'onvif': {
          const r = await onvifResolution();
          const c = credentials();
          return {
            input: withCredentials(r.streamUri, c.username, c.password),
            kind: 'rtsp',
            transport: s.transport,
          };
        }
        case 'file':
          return {
            input: isAbsolute(s.path) ? s.path : resolvePath(cam.baseDir, s.path),
            kind: 'file',
            transport: 'tcp',
          };
        case 'snapshot':
          throw unsupported(`mode ${d.mode} needs a video stream; this camera only has a snapshot URL`);
      }
    },
    async snapshotUrl() {
      const s = cam.source;
      if (s.kind === 'snapshot') return s.url;
      if (s.kind === 'onvif') {
        const r = await onvifResolution();
        if (!r.snapshotUri)
          throw unsupported('mode snapshot: the ONVIF device has no snapshot URI; use persistent or burst');
        return r.snapshotUri;
      }
      throw unsupported(`mode snapshot needs a snapshot or onvif source, not ${s.kind}`);
    },
  };
}
