import { Codes } from '../../core/errors.js';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseSamplingProfile, resolveOnvif } from '../../features/ingest/onvif-resolver.js';
import { createLogger } from '../../core/logger.js';
import { mediaPath, vtestH264 } from '../helpers/media.js';
import { startOnvifSim, type OnvifSim } from '../helpers/onvif-sim.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp-server.js';
import { camera, meanLevel, startIngest, waitFor, type Harness } from './support.js';

const ONVIF_PW = 'Onvif-Pw-77';
const SNAP_PW = 'Snap-Pw-88';

describe('ONVIF and snapshot sources', () => {
  let rtsp: RtspServer;
  let sim: OnvifSim;
  let basic: Server;
  let basicPort = 0;
  let jpeg: Buffer;
  let h: Harness;
  const count = (id: string) => h.frames.filter((f) => f.cameraId === id).length;

  beforeAll(async () => {
    rtsp = await startRtspServer({
      clips: { main: vtestH264(), sub: mediaPath('one-by-one-person-detection.mp4') },
    });
    jpeg = execFileSync('ffmpeg', [
      '-loglevel',
      'error',
      '-ss',
      '5',
      '-i',
      vtestH264(),
      '-frames:v',
      '1',
      '-c:v',
      'mjpeg',
      '-f',
      'image2pipe',
      '-',
    ]);
    sim = await startOnvifSim({
      username: 'admin',
      password: ONVIF_PW,
      snapshotJpeg: jpeg,
      profiles: [
        { token: 'Profile_1', name: 'mainStream', width: 1920, height: 1080, streamUri: rtsp.url('main') },
        { token: 'Profile_2', name: 'subStream', width: 640, height: 360, streamUri: rtsp.url('sub') },
      ],
    });
    basic = createServer((req, res) => {
      const ok = req.headers.authorization === `Basic ${Buffer.from(`viewer:${SNAP_PW}`).toString('base64')}`;
      if (req.url === '/html')
        return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
      if (!ok) return res.writeHead(401, { 'www-authenticate': 'Basic realm="cam"' }).end();
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
    });
    await new Promise<void>((r) => basic.listen(0, '127.0.0.1', r));
    basicPort = (basic.address() as { port: number }).port;
    h = await startIngest({}, { ...process.env, ONVIF_PW, SNAP_PW, WRONG: 'nope-wrong' });
    const creds = (env: string, username = 'admin') => ({ username, password: { env } });
    h.ingest.update([
      camera({
        id: 'onvif-stream',
        source: { kind: 'onvif', host: '127.0.0.1', port: sim.port },
        credentials: creds('ONVIF_PW'),
        samplingIntervalSec: 1,
      }),
      camera({
        id: 'onvif-snap',
        source: { kind: 'onvif', host: '127.0.0.1', port: sim.port },
        credentials: creds('ONVIF_PW'),
        mode: 'snapshot',
        samplingIntervalSec: 1,
      }),
      camera({
        id: 'onvif-badpw',
        source: { kind: 'onvif', host: '127.0.0.1', port: sim.port },
        credentials: creds('WRONG'),
      }),
      camera({
        id: 'snap-basic',
        source: { kind: 'snapshot', url: `http://127.0.0.1:${basicPort}/snap.jpg`, auth: 'basic' },
        credentials: creds('SNAP_PW', 'viewer'),
        samplingIntervalSec: 1,
      }),
      camera({
        id: 'snap-badpw',
        source: { kind: 'snapshot', url: `http://127.0.0.1:${basicPort}/snap.jpg`, auth: 'basic' },
        credentials: creds('WRONG', 'viewer'),
      }),
      camera({ id: 'snap-html', source: { kind: 'snapshot', url: `http://127.0.0.1:${basicPort}/html` } }),
    ]);
    await waitFor(
      'frames from onvif and snapshot cameras',
      () => count('onvif-stream') >= 3 && count('onvif-snap') >= 3 && count('snap-basic') >= 3,
      60_000,
    );
  });

  afterAll(async () => {
    await h?.close();
    await sim?.close();
    await rtsp?.close();
    await new Promise((r) => basic?.close(r));
  });

  it('resolves profiles, stream and snapshot URIs with the onvif client and picks the sub-stream', async () => {
    const r = await resolveOnvif({
      host: '127.0.0.1',
      port: sim.port,
      username: 'admin',
      password: ONVIF_PW,
      timeoutMs: 5_000,
      logger: createLogger({ level: 'silent', pretty: false }),
    });
    expect(r.profiles.map((p) => [p.token, p.width, p.height])).toEqual([
      ['Profile_1', 1920, 1080],
      ['Profile_2', 640, 360],
    ]);
    expect(r.profile.token).toBe('Profile_2');
    expect(r.streamUri).toBe(rtsp.url('sub'));
    expect(r.snapshotUri).toBe(`http://127.0.0.1:${sim.port}/snapshot.jpg`);
    expect(chooseSamplingProfile(r.profiles, 'Profile_1')?.name).toBe('mainStream');
    expect(sim.requests).toEqual(
      expect.arrayContaining([
        'GetSystemDateAndTime',
        'GetCapabilities',
        'GetProfiles',
        'GetStreamUri',
        'GetSnapshotUri',
      ]),
    );
  });

  it('samples an ONVIF camera through its resolved sub-stream', () => {
    const f = h.frames.find((x) => x.cameraId === 'onvif-stream')!;
    // the sub profile points at the 768x432 clip; the main one at the 768x576 clip
    expect([f.jpegWidth, f.jpegHeight]).toEqual([768, 432]);
    expect(meanLevel(f.rgb)).toBeGreaterThan(30);
    expect(h.ingest.directory.get('onvif-stream')).toMatchObject({ state: 'online', reason: null });
  });

  it('samples ONVIF snapshots (digest auth) and plain snapshot URLs (basic auth)', () => {
    for (const id of ['onvif-snap', 'snap-basic']) {
      const f = h.frames.find((x) => x.cameraId === id)!;
      expect(f.rgb.length).toBe(512 * 512 * 3);
      expect([f.jpegWidth, f.jpegHeight]).toEqual([768, 576]);
      expect(Buffer.from(f.jpeg).equals(jpeg)).toBe(true);
      expect(meanLevel(f.rgb)).toBeGreaterThan(30);
      expect(f.scheduledAt).toBeDefined();
    }
  });

  it('classifies wrong ONVIF and snapshot credentials and non-image URLs', async () => {
    await waitFor('bad cameras classified', () =>
      ['onvif-badpw', 'snap-badpw', 'snap-html'].every(
        (id) => h.ingest.directory.get(id)?.state === 'misconfigured',
      ),
    );
    expect(h.ingest.directory.get('onvif-badpw')!.reason).toMatch(
      new RegExp(`^${Codes.GW_CAMERA_AUTH_FAILED}: `),
    );
    expect(h.ingest.directory.get('snap-badpw')!.reason).toMatch(
      new RegExp(`^${Codes.GW_CAMERA_AUTH_FAILED}: .*HTTP 401`),
    );
    expect(h.ingest.directory.get('snap-html')!.reason).toMatch(
      new RegExp(`^${Codes.GW_CAMERA_NOT_IMAGE}: `),
    );
  });

  it('keeps credentials out of logs and statuses', () => {
    const all = h.logs() + JSON.stringify(h.ingest.directory.list());
    for (const s of [ONVIF_PW, SNAP_PW, 'nope-wrong']) expect(all).not.toContain(s);
    expect(h.logs()).toContain('onvif resolved');
  });
});
