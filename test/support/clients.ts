import { inject } from 'vitest';
import WebSocket from 'ws';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiOptions {
  method?: string;
  token?: string;
  body?: unknown;
  /** Sent as is, not JSON-encoded. */
  /** Sent as is (bytes too, e.g. invalid UTF-8). */
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** Base URL of the system under test: a deployment given by URL, else the local runtime. */
export const httpUrl = (): string => inject('httpUrl');
export const wsUrl = (): string => inject('wsUrl');

/** One HTTP call with JSON in and out. */
export async function api<T = any>(path: string, options: ApiOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(httpUrl() + path, { method: options.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** A WebSocket client that queues incoming frames and lets a test wait for the one it expects. */
export class WsClient {
  private readonly frames: any[] = [];
  private readonly waiters: Array<{ match: (f: any) => boolean; resolve: (f: any) => void }> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      let frame: any;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        frame = { raw: data.toString() };
      }
      const i = this.waiters.findIndex((w) => w.match(frame));
      if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(frame);
      else this.frames.push(frame);
    });
  }

  /** Opens a connection; rejects with the HTTP status when the upgrade is refused. */
  static connect(token?: string): Promise<WsClient> {
    const url = token === undefined ? wsUrl() : `${wsUrl()}?token=${encodeURIComponent(token)}`;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('unexpected-response', (_req, res) => {
        // The refusal's body and Retry-After, read before rejecting (a 429 says when to retry).
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        const done = () =>
          reject(
            new UpgradeRefused(res.statusCode ?? 0, body, res.headers['retry-after'] as string | undefined),
          );
        res.once('end', done);
        res.once('error', done);
      });
      socket.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or coming) that matches. */
  next<T = any>(match: (frame: any) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
    const i = this.frames.findIndex(match);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (f: any) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Sends a frame with a fresh requestId and waits for the answer that echoes it. */
  async request<T = any>(frame: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    const requestId = Math.random().toString(36).slice(2);
    this.send({ ...frame, requestId });
    return this.next((f) => f.requestId === requestId, timeoutMs);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    /** The refusal's body as sent (JSON text, or empty). */
    readonly body = '',
    readonly retryAfter?: string,
  ) {
    super(`upgrade refused with ${status}`);
  }
}
