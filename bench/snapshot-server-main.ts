/**
 * The snapshot benchmark's camera side, in its own process so its CPU is counted apart:
 * a digest-auth HTTP server of real JPEG frames (test/ingest/digest-snapshot-server.ts).
 * Reads {username, password} as one JSON line on stdin (never argv), prints {port} as JSON, and
 * answers "stats" lines with the server's counters.
 */
import { createInterface } from 'node:readline';
import { realJpegFrames, startDigestSnapshotServer } from '../test/ingest/digest-snapshot-server.js';

const lines = createInterface({ input: process.stdin });
let server: Awaited<ReturnType<typeof startDigestSnapshotServer>> | null = null;
lines.on('line', (line) => {
  void (async () => {
    if (!server) {
      const { username, password } = JSON.parse(line) as { username: string; password: string };
      server = await startDigestSnapshotServer({
        username,
        password,
        frames: realJpegFrames('vtest.avi', 40),
      });
      process.stdout.write(`${JSON.stringify({ url: server.url('X') })}\n`);
    } else if (line === 'stats') process.stdout.write(`${JSON.stringify(server.stats())}\n`);
  })();
});
lines.on('close', () => void server?.close().then(() => process.exit(0)));
