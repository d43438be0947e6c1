import { ValidationError } from '../errors.js';

export interface Part {
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Buffer;
}

/**
 * A multipart/form-data body already read into memory (the request is size-capped and the
 * HMAC covers these exact bytes). Enough of RFC 7578 for event uploads: named parts, optional
 * filename and Content-Type; no nested multipart, no transfer encodings.
 */
export function parseMultipart(body: Buffer, contentType: string, source: string): Part[] {
  const bad = (found: string) =>
    new ValidationError(source, [
      { source, path: '(body)', expected: 'multipart/form-data with a boundary', found, message: found },
    ]);
  const m = /boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw bad('no boundary in Content-Type');
  const delim = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw bad('no part');
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') break;
    if (body.subarray(pos, pos + 2).toString('latin1') !== '\r\n') throw bad('malformed boundary line');
    pos += 2;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) throw bad('part without headers');
    const head = body.subarray(pos, headEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) throw bad('unterminated part');
    const disp = /^content-disposition:\s*form-data(.*)$/im.exec(head)?.[1] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disp)?.[1];
    if (name === undefined) throw bad('part without a name');
    parts.push({
      name,
      filename: /;\s*filename="([^"]*)"/i.exec(disp)?.[1] ?? null,
      contentType: /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim() ?? null,
      data: body.subarray(headEnd + 4, next),
    });
    if (parts.length > 50) throw bad('more than 50 parts');
    pos = next + 2;
  }
  return parts;
}
