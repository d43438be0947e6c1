import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaPath, vtestH264 } from '../helpers/media.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp-server.js';
import { camera, startIngest, waitFor, type Harness } from './support.js';

const PASSWORD = 'Live-Pw-42x';

/** Reads an HTTP-FLV URL for `ms` and returns the bytes; the connection is then closed. */
function readFlv(url: string, ms: number, minBytes = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const req = request(url, (res) => {
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        if (size >= minBytes) finish();
      });
      res.on('error', () => finish());
    });
    const finish = () => {
      clearTimeout(t);
      req.destroy();
      resolve(Buffer.concat(chunks));
    };
    const t = setTimeout(finish, ms);
    req.on('error', (e) => (size ? finish() : reject(e)));
    req.end();
  });
}

describe('live view relay through node-media-server', () => {
  let rtsp: RtspServer;
  let h: Harness;

  beforeAll(async () => {
    rtsp = await startRtspServer({
      clips: { gate: mediaPath('car-detection.mp4') },
      auth: { username: 'admin', password: PASSWORD },
    });
    h = await startIngest(
      { liveView: { rtmpPort: 0, httpPort: 0, idleStopSec: 2, tokenTtlSec: 60 } },
      { ...process.env, LIVE_PW: PASSWORD },
    );
    h.ingest.update([
      camera({
        id: 'gate',
        source: { kind: 'rtsp', url: rtsp.url('gate') },
        credentials: { username: 'admin', password: { env: 'LIVE_PW' } },
        samplingIntervalSec: 10,
      }),
      // keyframes every 4.8 s against a 2 s interval: switches to full decoding (one ffmpeg)
      camera({
        id: 'gate-full',
        source: { kind: 'rtsp', url: rtsp.url('gate') },
        credentials: { username: 'admin', password: { env: 'LIVE_PW' } },
        samplingIntervalSec: 2,
      }),
      camera({
        id: 'gate-burst',
        mode: 'burst',
        source: { kind: 'rtsp', url: rtsp.url('gate') },
        credentials: { username: 'admin', password: { env: 'LIVE_PW' } },
        samplingIntervalSec: 2,
      }),
      camera({ id: 'demo', source: { kind: 'file', path: vtestH264() }, samplingIntervalSec: 10 }),
      camera({ id: 'still', source: { kind: 'snapshot', url: 'http://127.0.0.1:9/snap.jpg' } }),
    ]);
  });

  afterAll(async () => {
    await h?.close();
    await rtsp?.close();
  });

  const relays = async () =>
    Number(/gridwatch_ingest_live_relays (\d+)/.exec(await h.metrics.metrics())?.[1]);

  it('starts a relay on request; a client reads FLV; no credentials in the ticket', async () => {
    const ticket = await h.ingest.directory.startLiveView('gate');
    const json = JSON.stringify(ticket);
    expect(json).not.toContain(PASSWORD);
    expect(json).not.toContain('admin');
    expect(json).not.toMatch(/rtsp:/);
    expect(ticket.flvUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/live\/gate\.flv\?sign=\d+-[0-9a-f]{32}$/);
    expect(ticket.wsFlvUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/live\/gate\.flv\?sign=/);
    expect(ticket.expiresAt).toBeGreaterThan(Date.now());
    const bytes = await readFlv(ticket.flvUrl, 15_000, 64 * 1024);
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('FLV');
    expect(bytes.length).toBeGreaterThanOrEqual(64 * 1024);
    expect(bytes.toString('latin1')).not.toContain(PASSWORD);
    expect(await relays()).toBe(1);
  });

  it('no password or signing secret on any command line while cameras sample and a relay runs', async () => {
    /** Every process's argv, as any local user sees it in `ps -eo args`. */
    const cmdlines = () =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .flatMap((pid) => {
          try {
            return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)];
          } catch {
            return []; // gone meanwhile
          }
        });
    await waitFor(
      'gate-full switched to full decoding from measured keyframe gaps',
      () => /"camera":"gate-full"[^\n]*decoding every frame/.test(h.logs()),
      60_000,
    );
    await h.ingest.directory.startLiveView('gate');
    const seen = { concat: 0, nmsChild: 0, relay: 0 };
    for (let round = 0; round < 20; round++) {
      for (const argv of cmdlines()) {
        const line = argv.join(' ');
        expect(line).not.toContain(PASSWORD);
        expect(line).not.toMatch(/rtsp:\/\/[^\s/]*@/);
        expect(line).not.toMatch(/"secret"/);
        if (argv.includes('concat') && argv.includes('pipe:0')) seen.concat++;
        if (argv.some((a) => a.includes('rtmp://127.0.0.1'))) seen.relay++;
        const child = argv.findIndex((a) => /nms-child\.(ts|js)$/.test(a));
        if (child >= 0) {
          seen.nmsChild++;
          // the media server's config (with its signing secret) comes over IPC: no arguments
          expect(argv.slice(child + 1)).toEqual([]);
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    // the scan did look at the camera processes (reader, full decoder, bursts) and the relay
    expect(seen.concat).toBeGreaterThan(0);
    expect(seen.nmsChild).toBeGreaterThan(0);
    expect(seen.relay).toBeGreaterThan(0);
    const g = (id: string) => h.frames.filter((f) => f.cameraId === id).length;
    expect(g('gate-full')).toBeGreaterThan(2);
    expect(g('gate-burst')).toBeGreaterThan(0);
  }, 90_000);

  it('refuses an unsigned or forged play URL (no bytes)', async () => {
    const ticket = await h.ingest.directory.startLiveView('gate');
    const unsigned = ticket.flvUrl.replace(/\?sign=.*/, '');
    const forged = ticket.flvUrl.replace(/-[0-9a-f]{32}$/, `-${'0'.repeat(32)}`);
    expect((await readFlv(unsigned, 2_000)).length).toBe(0);
    expect((await readFlv(forged, 2_000)).length).toBe(0);
  });

  it('stops the relay after the last viewer leaves', async () => {
    const deadline = Date.now() + 15_000;
    let n = await relays();
    while (n !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      n = await relays();
    }
    expect(n).toBe(0);
    // and it starts again on the next request
    const ticket = await h.ingest.directory.startLiveView('gate');
    const bytes = await readFlv(ticket.flvUrl, 15_000, 16 * 1024);
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('FLV');
  });

  it('relays a file source (the demo camera)', async () => {
    const ticket = await h.ingest.directory.startLiveView('demo');
    const bytes = await readFlv(ticket.flvUrl, 15_000, 32 * 1024);
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('FLV');
    expect(bytes.length).toBeGreaterThanOrEqual(32 * 1024);
  });

  it('explains why a snapshot camera has no live view', async () => {
    await expect(h.ingest.directory.startLiveView('still')).rejects.toMatchObject({
      code: 'GW_LIVE_UNSUPPORTED',
    });
    await expect(h.ingest.directory.startLiveView('nope')).rejects.toMatchObject({ code: 'GW_NOT_FOUND' });
  });

  it('never logged the camera password', () => {
    expect(h.logs()).toContain('live relay started');
    expect(h.logs()).not.toContain(PASSWORD);
  });
});
