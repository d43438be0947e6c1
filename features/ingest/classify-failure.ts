import type { CameraState } from '../../core/contracts/camera-directory.js';
import { Codes, type ErrorCode } from '../../core/errors.js';

/** The camera reasons of the error catalogue (GW_CAMERA_…): the wall shows their zh-CN text. */
export type CameraReasonCode = Extract<ErrorCode, `GW_CAMERA_${string}`>;

export interface Failure {
  /** offline: worth retrying soon; misconfigured: needs someone to fix config or the camera. */
  state: Extract<CameraState, 'offline' | 'misconfigured'>;
  /** Stable reason code from the error catalogue, shown on the wall and in health (docs/errors.md). */
  code: CameraReasonCode;
  /** One line for operators; already free of credentials. */
  message: string;
}

const RULES: { re: RegExp; state: Failure['state']; code: CameraReasonCode; message: string }[] = [
  {
    re: /401 Unauthorized|authorization failed|403 Forbidden/i,
    state: 'misconfigured',
    code: Codes.GW_CAMERA_AUTH_FAILED,
    message: 'the camera rejected the credentials (RTSP 401/403)',
  },
  {
    re: /Failed to resolve hostname|Name or service not known|Temporary failure in name resolution|getaddrinfo/i,
    state: 'misconfigured',
    code: Codes.GW_CAMERA_UNKNOWN_HOST,
    message: 'the camera host name does not resolve',
  },
  {
    re: /404 Not Found|454 Session Not Found/i,
    state: 'misconfigured',
    code: Codes.GW_CAMERA_STREAM_NOT_FOUND,
    message: 'the camera has no stream at this path (RTSP 404)',
  },
  {
    re: /Invalid data found when processing input|does not contain any stream|Output file #0 does not contain|matches no streams/i,
    state: 'misconfigured',
    code: Codes.GW_CAMERA_NOT_VIDEO,
    message: 'the address answers, but not with an RTSP video stream',
  },
  {
    re: /No such file or directory/i,
    state: 'misconfigured',
    code: Codes.GW_CAMERA_FILE_MISSING,
    message: 'the video file does not exist',
  },
  {
    re: /Connection refused/i,
    state: 'offline',
    code: Codes.GW_CAMERA_CONNECTION_REFUSED,
    message: 'connection refused (camera or its RTSP service is down)',
  },
  {
    re: /No route to host|Network is unreachable|Host is unreachable/i,
    state: 'offline',
    code: Codes.GW_CAMERA_UNREACHABLE,
    message: 'no network route to the camera',
  },
  {
    re: /timed out|Connection timed out|timeout/i,
    state: 'offline',
    code: Codes.GW_CAMERA_TIMEOUT,
    message: 'the camera did not answer in time',
  },
  {
    re: /503 Service Unavailable|500 Internal Server Error/i,
    state: 'offline',
    code: Codes.GW_CAMERA_SERVER_ERROR,
    message: 'the camera’s RTSP server reported an error (5xx)',
  },
  {
    re: /Connection reset by peer|End of file|Broken pipe/i,
    state: 'offline',
    code: Codes.GW_CAMERA_STREAM_ENDED,
    message: 'the camera closed the stream',
  },
];

/** Maps the end of an ffmpeg run to a camera state and reason. `stderr` must already be redacted. */
export function classifyFfmpegExit(info: {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  frames: number;
}): Failure {
  if (info.signal) {
    return {
      state: 'offline',
      code: Codes.GW_CAMERA_DECODER_KILLED,
      message: `the ffmpeg process was killed (${info.signal})`,
    };
  }
  for (const r of RULES)
    if (r.re.test(info.stderr)) return { state: r.state, code: r.code, message: r.message };
  if (info.frames > 0 || info.code === 0) {
    return { state: 'offline', code: Codes.GW_CAMERA_STREAM_ENDED, message: 'the stream ended' };
  }
  const last = info.stderr.trim().split('\n').pop()?.slice(0, 200) ?? '';
  return {
    state: 'offline',
    code: Codes.GW_CAMERA_DECODER_FAILED,
    message: `ffmpeg exited with code ${info.code}${last ? `: ${last}` : ''}`,
  };
}
