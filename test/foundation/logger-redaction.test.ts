import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { redactText, redactUrl } from '../../core/util/redact.js';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  return { logger: createLogger({ destination: stream, pretty: false, level: 'debug' }), lines };
}

describe('credential redaction', () => {
  it('strips userinfo from URLs', () => {
    expect(redactUrl('rtsp://admin:S3cr%40t@10.0.0.5:554/Streaming/Channels/102')).toBe(
      'rtsp://***@10.0.0.5:554/Streaming/Channels/102',
    );
    expect(redactUrl('rtsp://10.0.0.5/x')).toBe('rtsp://10.0.0.5/x');
  });

  it('removes known secrets, plain and URL-encoded, from free text', () => {
    expect(redactText('auth failed for p@ss:word and p%40ss%3Aword', ['p@ss:word'])).toBe(
      'auth failed for *** and ***',
    );
  });

  it('hides what follows user: in a URL cut before its @, but keeps a port', () => {
    // A truncated CSV row echoed in an import error (found by the config fuzz, seed 2056588591).
    expect(redactText('"http://u:S3CRET-fz-91c7"')).toBe('"http://u:***"');
    expect(redactText('see rtsp://admin:hunter22 then')).toBe('see rtsp://admin:*** then');
    expect(redactText('rtsp://10.0.0.2:554')).toBe('rtsp://10.0.0.2:554');
    expect(redactText('rtsp://10.0.0.2:554/Streaming/101')).toBe('rtsp://10.0.0.2:554/Streaming/101');
  });

  it('never writes a password, a credential object or a URL password into a log line', async () => {
    const { logger, lines } = capture();
    const err = new Error('connect to rtsp://admin:hunter22@10.1.1.1/live failed');
    logger.error(
      { err, camera: { id: 'c1', credentials: { username: 'admin', password: 'hunter22' } } },
      'ffmpeg said rtsp://admin:hunter22@10.1.1.1/live',
    );
    logger.info({ password: 'hunter22', headers: { authorization: 'Basic aHVudGVyMjI=' } }, 'login');
    await new Promise((r) => setImmediate(r));
    const text = lines.join('\n');
    expect(lines.length).toBe(2);
    expect(text).not.toContain('hunter22');
    expect(text).not.toContain('aHVudGVyMjI=');
    expect(text).toContain('rtsp://***@10.1.1.1/live');
  });
});
