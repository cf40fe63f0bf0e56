import WebSocket from 'ws';

type Frame = Record<string, unknown>;

/**
 * A chat client for benchmarks: sends frames with a requestId, resolves the answer echoing it, and
 * reports every server-pushed event to a listener with its arrival time.
 */
export class ChatSocket {
  private readonly pending = new Map<string, (frame: Frame) => void>();
  private next = 0;
  onEvent: (frame: Frame, at: number) => void = () => undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const at = performance.now();
      const frame = JSON.parse(data.toString()) as Frame;
      const id = frame.requestId;
      const resolve = typeof id === 'string' ? this.pending.get(id) : undefined;
      if (resolve) {
        this.pending.delete(id as string);
        resolve(frame);
      } else {
        this.onEvent(frame, at);
      }
    });
  }

  static connect(wsUrl: string, token: string): Promise<ChatSocket> {
    if (new URL(wsUrl).hostname !== '127.0.0.1')
      throw new Error(`benchmarks talk to 127.0.0.1 only, not ${wsUrl}`);
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
      socket.once('open', () => resolve(new ChatSocket(socket)));
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
      socket.once('error', reject);
    });
  }

  /** Sends a frame and resolves with the answer that echoes its requestId. */
  request(frame: Frame, timeoutMs = 30_000): Promise<Frame> {
    const requestId = `r${++this.next}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`no answer to ${String(frame.action)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.socket.send(JSON.stringify({ ...frame, requestId }));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}
