/**
 * Camera credentials must never reach logs, the browser, the API or error messages.
 * Everything that prints a URL or an error that may embed one goes through here.
 */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@/gi;
/**
 * `scheme://user:secret` cut before its `@` (a truncated file or line): the part after the colon
 * may be a password, unless it is a port (1 to 5 digits). Found by the config fuzz.
 */
const CUT_USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^/@\s:"]*:)(?!\d{1,5}(?=$|[\s"]))[^/@\s"]+(?=$|[\s"])/gi;

/** An RTSP (or any) URL with `user:password@` userinfo → `rtsp://***@host/x`. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, '$1***@');
}

/** Redacts URLs with userinfo and any of the given secret strings inside free text. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(USERINFO, '$1***@').replace(CUT_USERINFO, '$1***');
  for (const s of secrets) {
    if (s.length >= 3) out = out.split(s).join('***');
    const enc = encodeURIComponent(s);
    if (enc !== s && enc.length >= 3) out = out.split(enc).join('***');
  }
  return out;
}

/** Pino redact paths: any key that can hold a secret, at any depth we log. */
export const LOG_REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'credentials',
  '*.credentials',
  '*.*.credentials',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'passwordHash',
  '*.passwordHash',
  // Grid workers' and reporters' phone numbers are private (features/workers, features/events).
  'phone',
  '*.phone',
  '*.*.phone',
];
