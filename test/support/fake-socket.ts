import type { SocketLike } from '../../clients/sdk/index.js';

/** A WebSocket double for SDK unit tests: the test plays the server, opening, answering and dropping. */
export class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: any[] = [];
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  /** Server side: the upgrade succeeded. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Server side: a frame to the client. */
  push(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The network dropped the connection (no close handshake). */
  drop(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: '' });
  }

  /** Frames the client sent with this action. */
  frames(action: string): any[] {
    return this.sent.filter((f) => f.action === action);
  }
}

/** A socket factory that records every socket it opened. */
export function fakeSockets() {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    factory: (url: string) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    /** The newest socket. */
    get last(): FakeSocket {
      const socket = sockets.at(-1);
      if (!socket) throw new Error('no socket opened yet');
      return socket;
    },
  };
}
