/**
 * How ffmpeg is pointed at an RTSP camera without the camera's password on its command line.
 * ffmpeg 5.1 has no option for RTSP credentials (only the URL's user-info), reads no URL from
 * the environment, and has no options file (`-/opt` came with 7.0). Measured on ffmpeg 5.1 here:
 * the concat demuxer reads its list from `pipe:0` and opens each entry with the demuxer the URL
 * names, applying the list's `option` lines to it (`option rtsp_transport bogus` fails in the
 * RTSP demuxer), so a list written to ffmpeg's stdin carries the URL with credentials and `ps`
 * shows only `-f concat -i pipe:0`. A camera without credentials keeps the plain `-i URL`.
 */
export interface RtspInput {
  /** ffmpeg arguments from the input options to `-i …` (inclusive). */
  args: string[];
  /** Written to ffmpeg's stdin (then closed) when the URL travels that way; null otherwise. */
  stdin: string | null;
}

/** True when a URL carries user-info (user or password) that must stay off the command line. */
export function hasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

/** Quotes a value for an ffconcat directive (single quotes; a quote is closed, escaped, reopened). */
function concatQuote(v: string): string {
  return `'${v.replace(/'/g, "'\\''")}'`;
}

export function rtspInput(o: {
  url: string;
  transport: 'tcp' | 'udp';
  ioTimeoutSec: number;
  analyzeDurationUs: number;
  probeSize: number;
}): RtspInput {
  const opts: [string, string][] = [
    ['rtsp_transport', o.transport],
    ['allowed_media_types', 'video'],
    ['timeout', String(Math.round(o.ioTimeoutSec * 1e6))],
  ];
  const probe = ['-analyzeduration', String(o.analyzeDurationUs), '-probesize', String(o.probeSize)];
  if (!hasCredentials(o.url)) {
    return { args: [...opts.flatMap(([k, v]) => [`-${k}`, v]), ...probe, '-i', o.url], stdin: null };
  }
  const list = [
    'ffconcat version 1.0',
    `file ${concatQuote(o.url)}`,
    ...opts.map(([k, v]) => `option ${k} ${concatQuote(v)}`),
    // the inner RTSP input probes too: keep it as short as the outer one
    `option analyzeduration ${o.analyzeDurationUs}`,
    `option probesize ${o.probeSize}`,
    '',
  ].join('\n');
  return {
    args: [
      ...probe,
      '-f',
      'concat',
      '-safe',
      '0',
      '-protocol_whitelist',
      'pipe,rtsp,rtsps,rtp,srtp,tcp,udp,tls',
      '-i',
      'pipe:0',
    ],
    stdin: list,
  };
}
