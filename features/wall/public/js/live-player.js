// One live player for the detail panel and the split wall: mpegts.js over HTTP-FLV or WS-FLV,
// with its error events turned into the caller's status line and a destroy() that never throws.
//
// WS-FLV goes through our own loader, not mpegts.js's WebSocketLoader (1.8.2). That loader keeps
// its socket's handlers after destroy(); closing a socket that is still connecting makes the
// browser fire `error` on it, and the loader, whose error callback destroy() has cleared, throws
// a RuntimeException from the event handler: an uncaught error on the page each time a tile left
// the screen before its stream opened (seen as `pageerror: e` in the split-wall test, 1 run in 5).
// Ours drops the socket's handlers before it closes it, so a deliberate close is silent.

/** The loader class, built on the page's mpegts (a deferred global script, not a module). */
function quietWebSocketLoader(mpegts) {
  const { BaseLoader, LoaderStatus, LoaderErrors } = mpegts;
  return class QuietWebSocketLoader extends BaseLoader {
    static isSupported() {
      return typeof window.WebSocket !== 'undefined';
    }

    constructor() {
      super('quiet-websocket-loader');
      // Live FLV arrives in small messages: let mpegts stash them (its WebSocketLoader does too).
      this._needStash = true;
      this._ws = null;
      this._received = 0;
    }

    open(dataSource) {
      let ws;
      try {
        ws = this._ws = new window.WebSocket(dataSource.url);
      } catch (err) {
        this._status = LoaderStatus.kError;
        this._fail(err?.message ?? String(err));
        return;
      }
      ws.binaryType = 'arraybuffer';
      this._status = LoaderStatus.kConnecting;
      ws.onopen = () => {
        this._status = LoaderStatus.kBuffering;
      };
      ws.onmessage = (ev) => {
        if (!(ev.data instanceof ArrayBuffer)) {
          this._status = LoaderStatus.kError;
          this._fail('WebSocket message is not binary');
          return;
        }
        const start = this._received;
        this._received += ev.data.byteLength;
        this._onDataArrival?.(ev.data, start, this._received);
      };
      ws.onerror = () => {
        this._status = LoaderStatus.kError;
        this._fail('WebSocket error');
      };
      ws.onclose = () => {
        this._ws = null;
        if (this._status === LoaderStatus.kError) return;
        this._status = LoaderStatus.kComplete;
        this._onComplete?.(0, this._received - 1);
      };
    }

    _fail(msg) {
      this._onError?.(LoaderErrors.EXCEPTION, { code: -1, msg });
    }

    abort() {
      const ws = this._ws;
      this._ws = null;
      if (ws) {
        // Handlers off first: the close we ask for is not an error nor the end of the stream.
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        if (ws.readyState === window.WebSocket.CONNECTING || ws.readyState === window.WebSocket.OPEN)
          ws.close();
      }
      this._status = LoaderStatus.kComplete;
    }

    destroy() {
      this.abort();
      super.destroy();
    }
  };
}

/**
 * Plays `url` (an http(s) FLV or ws(s) FLV address) in `video`. `onError(type, detail)` gets
 * mpegts's error type (NetworkError, MediaError, OtherError) and its English detail;
 * `onPlaying` fires when the video element starts playing. Returns `{ destroy() }`.
 */
export function createLivePlayer({ url, video, onError, onPlaying }) {
  const mpegts = window.mpegts;
  const ws = /^wss?:/i.test(url);
  const p = mpegts.createPlayer(
    { type: 'flv', isLive: true, hasAudio: false, url },
    {
      enableStashBuffer: false,
      liveBufferLatencyChasing: true,
      ...(ws ? { customLoader: quietWebSocketLoader(mpegts) } : {}),
    },
  );
  p.on(mpegts.Events.ERROR, (type, detail) => onError?.(type, detail));
  p.attachMediaElement(video);
  p.load();
  const playing = p.play();
  if (playing?.catch) playing.catch((err) => console.warn('play()', err));
  video.onplaying = () => onPlaying?.();
  let destroyed = false;
  return {
    destroy() {
      if (destroyed) return;
      destroyed = true;
      video.onplaying = null;
      try {
        p.destroy();
      } catch (err) {
        console.warn('player destroy', err);
      }
    },
  };
}
