import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/browser.js';

// A tile that leaves the screen before its WS-FLV stream opened destroys its player while the
// socket is still connecting. mpegts.js's own WebSocketLoader then throws from the socket's
// error event (an uncaught error on the page); features/wall/public/js/live-player.js uses a
// loader that closes quietly. The server here answers no WebSocket upgrade, so the socket stays
// connecting for as long as the test wants: the race of the split-wall test, made certain.

const ROOT = process.cwd();
let server: Server;
let base: string;
let browser: Browser;
const held: Socket[] = [];

beforeAll(async () => {
  const files: Record<string, [string, string]> = {
    '/mpegts.js': [join(ROOT, 'node_modules/mpegts.js/dist/mpegts.js'), 'text/javascript'],
    '/live-player.js': [join(ROOT, 'features/wall/public/js/live-player.js'), 'text/javascript'],
  };
  server = createServer((req, res) => {
    const f = files[req.url ?? ''];
    if (req.url === '/') {
      res.setHeader('content-type', 'text/html');
      // A module script, not page.evaluate's import(): vitest would rewrite that import.
      res.end(
        '<!doctype html><video muted></video><script src="/mpegts.js"></script>' +
          '<script type="module">import { createLivePlayer } from "/live-player.js";' +
          'window.createLivePlayer = createLivePlayer;</script>',
      );
    } else if (f) {
      res.setHeader('content-type', f[1]);
      res.end(readFileSync(f[0]));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  // Hold every upgrade unanswered: the browser's socket stays CONNECTING.
  server.on('upgrade', (_req, socket: Socket) => held.push(socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  for (const s of held) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

/** Opens the page, starts a player on a socket that never opens, destroys it; page errors seen. */
async function destroyWhileConnecting(stock: boolean): Promise<string[]> {
  const context = await browser.newContext();
  const page: Page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  try {
    await page.goto(base);
    await page.waitForFunction(() => 'createLivePlayer' in globalThis);
    const upgrades = held.length;
    await page.evaluate(
      async ({ stock, url }) => {
        const w = globalThis as unknown as {
          document: { querySelector(s: string): unknown };
          mpegts: {
            createPlayer(
              ds: object,
              cfg: object,
            ): {
              attachMediaElement(v: unknown): void;
              load(): void;
              destroy(): void;
            };
          };
        };
        const video = w.document.querySelector('video');
        let destroy: () => void;
        if (stock) {
          const p = w.mpegts.createPlayer({ type: 'flv', isLive: true, hasAudio: false, url }, {});
          p.attachMediaElement(video);
          p.load();
          destroy = () => p.destroy();
        } else {
          const make = (w as unknown as { createLivePlayer(o: object): { destroy(): void } })
            .createLivePlayer;
          const p = make({ url, video });
          destroy = () => p.destroy();
        }
        await new Promise((r) => setTimeout(r, 300));
        destroy();
        // The error event of a socket closed while connecting comes a task or two later.
        await new Promise((r) => setTimeout(r, 1000));
      },
      { stock, url: base.replace('http:', 'ws:') + '/live/cam.flv' },
    );
    // The socket really was connecting: the server holds its upgrade.
    expect(held.length).toBeGreaterThan(upgrades);
  } finally {
    await context.close();
  }
  return errors;
}

describe('live player closed while its WebSocket is still connecting', () => {
  it("mpegts.js's own loader throws an uncaught error (why the wall has its own)", async () => {
    expect(await destroyWhileConnecting(true)).toHaveLength(1);
  });

  it('the wall player closes quietly', async () => {
    expect(await destroyWhileConnecting(false)).toEqual([]);
  });
});
