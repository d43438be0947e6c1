/**
 * The config parse worker: reads, parses and validates camera and grid files off the main
 * thread, so a 3 MB camera file or a file with 50,000 unknown keys never stalls the event loop
 * (HTTP, sockets, the ingest watchdog). Requests are handled one at a time, in order. Camera
 * entries go back in chunks, each one message, so the main thread finishes them (plugin
 * checks, grid lookup) a few hundred at a time between other work.
 */
import { parentPort } from 'node:worker_threads';
import { ConfigError, type InputIssue } from '../errors.js';
import { readGridFeatures } from '../grid/grid-index.js';
import { parseCameraText } from '../config/camera-file.js';
import { LIMITS, readConfigText } from '../config/read-config-text.js';
import type { ParseReply, ParseRequest } from './config-parser.js';

const CHUNK = 250;
const port = parentPort!;
let gridCodes = new Set<string>();
let chain: Promise<void> = Promise.resolve();

const post = (m: ParseReply) => port.postMessage(m);

async function handle(m: ParseRequest): Promise<void> {
  if (m.kind === 'grids') {
    gridCodes = new Set(m.codes);
    return;
  }
  if (m.kind === 'camera') {
    const read = await readConfigText(m.file, LIMITS.yamlBytes, 'camera file');
    if (!read.ok) {
      post({ id: m.id, type: 'done', fileIssues: [read.issue] });
      return;
    }
    const r = parseCameraText(m.file, read.text, (code) => gridCodes.has(code));
    for (let i = 0; i < r.entries.length; i += CHUNK)
      post({ id: m.id, type: 'entries', entries: r.entries.slice(i, i + CHUNK) });
    post({ id: m.id, type: 'done', fileIssues: r.fileIssues });
    return;
  }
  try {
    const g = await readGridFeatures(m.file);
    // Camera files are checked against the last grid file that loaded (as the store keeps it).
    gridCodes = new Set(g.features.map((f) => f.info.code));
    post({ id: m.id, type: 'grid', features: g.features, issues: g.issues });
  } catch (err) {
    const issues: InputIssue[] = err instanceof ConfigError ? err.issues : [];
    const message = err instanceof ConfigError ? err.message.split('\n')[0]! : String(err);
    post({ id: m.id, type: 'failed', message, issues, config: err instanceof ConfigError });
  }
}

port.on('message', (m: ParseRequest) => {
  chain = chain
    .then(() => handle(m))
    .catch((err: unknown) => {
      if (m.kind !== 'grids')
        post({ id: m.id, type: 'failed', message: String(err), issues: [], config: false });
    });
});
