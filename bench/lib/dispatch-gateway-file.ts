import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { cameras } from '../../test/dispatcher/fixtures.js';

/**
 * Writes the gateway.yaml a dispatcher benchmark builds its dispatch-role gateway from, as
 * production does (app/build-gateway.ts): the fixture cameras (cameras/bench.yaml beside the
 * file), the given grid file, dedup of the same camera, type, zone and place within 600 s, and
 * the benchmark's own dispatcher settings and `redis:` section over that. Returns the file.
 */
export async function writeDispatchGateway(o: {
  file: string;
  gridFile: string;
  /** Dispatcher settings (prefix, concurrency, …) over the shared dedup rule. */
  dispatcher: Record<string, unknown>;
  /** gateway.yaml `redis:` section (e.g. `cluster.nodes`); none: the caller passes a URL. */
  redis?: Record<string, unknown>;
}): Promise<string> {
  const dir = dirname(o.file);
  await mkdir(join(dir, 'cameras'), { recursive: true });
  await writeFile(
    join(dir, 'cameras', 'bench.yaml'),
    stringify({ cameras: cameras().map(({ file: _f, line: _l, baseDir: _b, wgs84: _w, ...c }) => c) }),
  );
  await writeFile(
    o.file,
    stringify({
      dataDir: './var',
      cameras: { dirs: ['./cameras'] },
      grids: { file: o.gridFile },
      ...(o.redis ? { redis: o.redis } : {}),
      dispatcher: {
        dedup: { default: { windowSec: 600, keys: ['camera', 'type', 'zone', 'place'] } },
        ...o.dispatcher,
      },
    }),
  );
  return o.file;
}
