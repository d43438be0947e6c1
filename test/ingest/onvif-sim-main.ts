/**
 * Runs the ONVIF simulator with WS-Discovery as a process, for the discovery test (which starts
 * it inside a private network namespace so the multicast never reaches a real network).
 * argv: READY_FILE
 */
import { writeFileSync } from 'node:fs';
import { startOnvifSim } from '../helpers/onvif-sim.js';

const sim = await startOnvifSim({
  username: 'admin',
  password: process.env.SIM_PW ?? 'pw',
  snapshotJpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]),
  model: 'DS-2CD-SIM',
  discovery: true,
  profiles: [
    {
      token: 'Profile_1',
      name: 'mainStream',
      width: 1920,
      height: 1080,
      streamUri: 'rtsp://127.0.0.1:554/main',
    },
    { token: 'Profile_2', name: 'subStream', width: 640, height: 360, streamUri: 'rtsp://127.0.0.1:554/sub' },
  ],
});
writeFileSync(process.argv[2]!, String(sim.port));
process.on('SIGTERM', () => {
  void sim.close().then(() => process.exit(0));
});
