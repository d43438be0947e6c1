/**
 * Child process hosting node-media-server. NMS keeps its state in module-level singletons
 * (Context), logs with console.log and can take its process down on a listen error or a bad
 * stream; running it in its own process keeps all that away from the gateway and lets two
 * ingest instances (tests) each have their own server.
 */
import { createRequire } from 'node:module';

interface NmsSession {
  id: string;
  streamPath: string;
  ip: string;
  protocol?: string;
}
interface Nms {
  on(event: string, listener: (s: NmsSession) => void): void;
  run(): Promise<void>;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const NodeMediaServer = require('node-media-server') as new (config: unknown) => Nms;

interface NmsConfig {
  rtmpPort: number;
  httpPort: number;
  secret: string;
  storeDir: string;
}
const send = (m: Record<string, unknown>) => {
  if (process.send) process.send(m);
};

// The config, with the play/publish signing secret, arrives over the IPC channel: a command-line
// argument would show it to every local user in `ps` (issue 14, finding 4).
const cfg = await new Promise<NmsConfig>((resolve) => {
  const onMessage = (m: { type?: string; config?: NmsConfig }) => {
    if (m?.type === 'config' && m.config) {
      process.off('message', onMessage);
      resolve(m.config);
    }
  };
  process.on('message', onMessage);
  // The parent died or closed the channel: nobody can use this server any more.
  process.on('disconnect', () => process.exit(0));
});

const nms = new NodeMediaServer({
  bind: '127.0.0.1',
  rtmp: { port: cfg.rtmpPort },
  http: { port: cfg.httpPort },
  auth: { play: true, publish: true, secret: cfg.secret },
  store: { path: cfg.storeDir },
  webadmin: { enable: false },
});
for (const ev of ['postPlay', 'donePlay', 'postPublish', 'donePublish']) {
  nms.on(ev, (s) => send({ type: ev, id: s.id, streamPath: s.streamPath, protocol: s.protocol ?? '' }));
}
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'stop') {
    void nms.stop().finally(() => process.exit(0));
  }
});
await nms.run();
send({ type: 'ready' });
