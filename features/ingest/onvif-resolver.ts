import { Codes } from '../../core/errors.js';
import onvif from 'onvif/promises/index.js';
import type { Logger } from '../../core/logger.js';
import { redactText } from '../../core/util/redact.js';
import type { Failure } from './classify-failure.js';

export interface OnvifProfileInfo {
  token: string;
  name: string;
  width: number | null;
  height: number | null;
  encoding: string | null;
}

export interface OnvifResolution {
  profile: OnvifProfileInfo;
  profiles: OnvifProfileInfo[];
  /** As the device returned them (no credentials inside). */
  streamUri: string;
  snapshotUri: string | null;
}

export class OnvifFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

interface RawProfile {
  $?: { token?: string };
  name?: string;
  videoEncoderConfiguration?: {
    encoding?: string;
    resolution?: { width?: number | string; height?: number | string };
  };
}

export function profileInfo(p: RawProfile): OnvifProfileInfo {
  const r = p.videoEncoderConfiguration?.resolution;
  return {
    token: String(p.$?.token ?? ''),
    name: String(p.name ?? ''),
    width: r?.width === undefined ? null : Number(r.width),
    height: r?.height === undefined ? null : Number(r.height),
    encoding: p.videoEncoderConfiguration?.encoding ?? null,
  };
}

/** The sub-stream: the smallest H.264 profile (cheapest to decode); unknown sizes go last. */
export function chooseSamplingProfile(
  profiles: OnvifProfileInfo[],
  wanted?: string,
): OnvifProfileInfo | undefined {
  if (wanted) return profiles.find((p) => p.token === wanted);
  const area = (p: OnvifProfileInfo) => (p.width && p.height ? p.width * p.height : Number.MAX_SAFE_INTEGER);
  const h264 = profiles.filter((p) => !p.encoding || /h264|h\.264/i.test(p.encoding));
  return [...(h264.length ? h264 : profiles)].sort((a, b) => area(a) - area(b))[0];
}

function classify(e: unknown, secrets: string[]): Failure {
  const msg = redactText(e instanceof Error ? e.message : String(e), secrets);
  if (/NotAuthorized|not authorized|401|Unauthorized|Sender not Authorized/i.test(msg)) {
    return {
      state: 'misconfigured',
      code: Codes.GW_CAMERA_AUTH_FAILED,
      message: 'the ONVIF device rejected the credentials',
    };
  }
  if (/ENOTFOUND|EAI_AGAIN/.test(msg))
    return {
      state: 'misconfigured',
      code: Codes.GW_CAMERA_UNKNOWN_HOST,
      message: 'the ONVIF host name does not resolve',
    };
  if (/ECONNREFUSED/.test(msg))
    return {
      state: 'offline',
      code: Codes.GW_CAMERA_CONNECTION_REFUSED,
      message: 'connection refused by the ONVIF service',
    };
  if (/timeout|ETIMEDOUT/i.test(msg))
    return {
      state: 'offline',
      code: Codes.GW_CAMERA_TIMEOUT,
      message: 'the ONVIF device did not answer in time',
    };
  return {
    state: 'misconfigured',
    code: Codes.GW_CAMERA_ONVIF_FAILED,
    message: `ONVIF request failed: ${msg.slice(0, 200)}`,
  };
}

/** Resolves stream and snapshot URIs of an ONVIF device with the `onvif` package (Profile S, Media1/Media2). */
export async function resolveOnvif(opts: {
  host: string;
  port: number;
  username?: string;
  password?: string;
  profile?: string;
  timeoutMs: number;
  logger: Logger;
}): Promise<OnvifResolution> {
  const secrets = [opts.password ?? ''].filter(Boolean);
  const cam = new onvif.Cam({
    hostname: opts.host,
    port: opts.port,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    timeout: opts.timeoutMs,
    // Some devices report service addresses on another interface (NAT, a second NIC); the
    // address the integrator configured is the one that works from here.
    preserveAddress: true,
  });
  // The library emits 'warning'/'error' on its EventEmitter; an unhandled 'error' would throw.
  cam.on('error', (e: unknown) =>
    opts.logger.warn({ err: redactText(String(e), secrets) }, 'onvif client error'),
  );
  cam.on('warning', (w: unknown) =>
    opts.logger.debug({ warning: redactText(String(w), secrets) }, 'onvif client warning'),
  );
  try {
    await cam.connect();
    const raw = ((cam as unknown as { profiles?: RawProfile[] }).profiles ?? []) as RawProfile[];
    const profiles = raw.map(profileInfo).filter((p) => p.token);
    const profile = chooseSamplingProfile(profiles, opts.profile);
    if (!profile) {
      throw new OnvifFailure(
        opts.profile
          ? {
              state: 'misconfigured',
              code: Codes.GW_CAMERA_PROFILE_NOT_FOUND,
              message: `the device has no media profile ${opts.profile} (has ${profiles.map((p) => p.token).join(', ') || 'none'})`,
            }
          : {
              state: 'misconfigured',
              code: Codes.GW_CAMERA_NO_PROFILES,
              message: 'the device reports no media profiles',
            },
      );
    }
    const stream = (await (cam.getStreamUri as (o: object) => Promise<unknown>)({
      protocol: 'RTSP',
      profileToken: profile.token,
    })) as { uri?: string };
    if (!stream?.uri)
      throw new OnvifFailure({
        state: 'misconfigured',
        code: Codes.GW_CAMERA_ONVIF_FAILED,
        message: 'GetStreamUri returned no URI',
      });
    let snapshotUri: string | null = null;
    try {
      const snap = (await (cam.getSnapshotUri as (o: object) => Promise<unknown>)({
        profileToken: profile.token,
      })) as { uri?: string };
      snapshotUri = snap?.uri ?? null;
    } catch (e) {
      // Snapshot is optional in Profile S; sampling falls back to the stream.
      opts.logger.info({ err: redactText(String(e), secrets) }, 'onvif device has no snapshot URI');
      snapshotUri = null;
    }
    return {
      profile,
      profiles,
      streamUri: stripUserinfo(stream.uri),
      snapshotUri: snapshotUri ? stripUserinfo(snapshotUri) : null,
    };
  } catch (e) {
    if (e instanceof OnvifFailure) throw e;
    throw new OnvifFailure(classify(e, secrets));
  }
}

function stripUserinfo(u: string): string {
  try {
    const url = new URL(u);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return u;
  }
}

/** Puts credentials into a URL for ffmpeg (the only place they are allowed to be). */
export function withCredentials(url: string, username?: string, password?: string): string {
  if (username === undefined) return url;
  const u = new URL(url);
  u.username = encodeURIComponent(username);
  u.password = encodeURIComponent(password ?? '');
  return u.toString();
}
