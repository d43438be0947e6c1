// The Socket.IO client: connection state, acked requests, and the server's pushes.
import { io } from '/socket.io/socket.io.esm.min.js';

const PROTOCOL = 1;

export class AckError extends Error {
  constructor(error, local) {
    super(error?.message ?? local ?? 'socket error');
    this.code = error?.code ?? null;
    this.field = error?.field;
    /** A failure on this side (an i18n key), not a server error code. */
    this.local = local;
  }
}

/** handlers: { onState(connected), onHello, onAlert(a, kind), onCamera, onSuppression, onEnded, onAuthFailed } */
export function createSocket(handlers) {
  // WebSocket first; long-polling when a proxy on the way refuses the upgrade.
  const socket = io({
    auth: { protocol: PROTOCOL },
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    withCredentials: true,
  });
  socket.on('connect', () => handlers.onState(true));
  socket.on('disconnect', () => handlers.onState(false));
  socket.on('connect_error', (err) => {
    handlers.onState(false);
    if (err.data?.code === 'GW_UNAUTHORIZED') handlers.onAuthFailed();
  });
  socket.on('wall:hello', (hello) => handlers.onHello(hello));
  socket.on('alert:new', (a) => handlers.onAlert(a, 'new'));
  socket.on('alert:update', (a) => handlers.onAlert(a, 'update'));
  socket.on('camera:state', (c) => handlers.onCamera(c));
  socket.on('suppression:changed', () => handlers.onSuppression());
  socket.on('session:ended', () => handlers.onEnded());

  return {
    get connected() {
      return socket.connected;
    },
    /** An acked request; rejects with AckError: a catalogue code, or `local` when it never got there. */
    request(event, payload) {
      return new Promise((resolve, reject) => {
        if (!socket.connected) return reject(new AckError(null, 'disconnected'));
        socket.timeout(10_000).emit(event, payload, (err, res) => {
          if (err) return reject(new AckError(null, 'no_answer'));
          if (!res.ok) return reject(new AckError(res.error));
          resolve(res.data);
        });
      });
    },
    close() {
      socket.close();
    },
  };
}
