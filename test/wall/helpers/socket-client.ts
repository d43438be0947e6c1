import { io, type Socket } from 'socket.io-client';
import type { Alert } from '../../../core/contracts/alert.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../../features/wall/socket-events.js';

export type WallClient = Socket<ServerToClientEvents, ClientToServerEvents> & {
  received: Alert[];
  hello: Array<{ recovered: boolean }>;
  ended: string[];
};

/** A real Socket.IO client as a wall would connect (token in the handshake auth). */
export function wallClient(
  url: string,
  token: string | undefined,
  extra: { headers?: Record<string, string>; protocol?: number } = {},
): WallClient {
  const s = io(url, {
    auth: { ...(token === undefined ? {} : { token }), protocol: extra.protocol ?? 1 },
    transports: ['websocket'],
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    forceNew: true,
    ...(extra.headers ? { extraHeaders: extra.headers } : {}),
  }) as WallClient;
  s.received = [];
  s.hello = [];
  s.ended = [];
  s.on('alert:new', (a) => s.received.push(a));
  s.on('alert:update', (a) => s.received.push(a));
  s.on('wall:hello', (h) => s.hello.push(h));
  s.on('session:ended', (p) => s.ended.push(p.reason));
  return s;
}

export function connected(s: WallClient): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.connected && s.hello.length) return resolve();
    s.once('wall:hello', () => resolve());
    s.once('connect_error', (e) => reject(e));
  });
}

/** The connect_error a refused handshake gets, with the server's error body. */
export function refused(s: WallClient): Promise<{ message: string; data?: { code?: string } }> {
  return new Promise((resolve, reject) => {
    s.once('connect', () => reject(new Error('connected but should have been refused')));
    s.once('connect_error', (e) => {
      s.disconnect();
      resolve(e as unknown as { message: string; data?: { code?: string } });
    });
  });
}

export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function ack<T>(p: Promise<T>): Promise<T> {
  return p;
}
