import WebSocket from 'ws';

/** A WebSocket client that matches answers to requests by `requestId`. */
export class WsClient {
  private readonly pending = new Map<string, (frame: Record<string, unknown>) => void>();
  private seq = 0;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        return;
      }
      const id = frame.requestId;
      if (typeof id !== 'string') return;
      const resolve = this.pending.get(id);
      if (resolve) {
        this.pending.delete(id);
        resolve(frame);
      }
    });
  }

  static connect(wsUrl: string, token: string): Promise<WsClient> {
    if (new URL(wsUrl).hostname !== '127.0.0.1')
      throw new Error(`benchmarks talk to 127.0.0.1 only, not ${wsUrl}`);
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
      socket.once('error', reject);
    });
  }

  /** Sends `{action, requestId}` and resolves with the frame echoing that requestId. */
  request(action: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const requestId = `b${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`no answer to ${action} ${requestId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, (frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
      this.socket.send(JSON.stringify({ action, requestId }));
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
