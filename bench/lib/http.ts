import { Agent, request } from 'node:http';

export interface JsonResponse<T = unknown> {
  status: number;
  body: T;
}

export interface CallOptions {
  method?: string;
  token?: string;
  body?: unknown;
}

/**
 * A small JSON client over node:http with a keep-alive agent, so sequential calls reuse one socket and
 * latencies measure the server, not TCP handshakes.
 */
export class HttpClient {
  private readonly agent: Agent;
  private readonly base: URL;

  /**
   * `localAddress` binds the client's sockets to another loopback address (e.g. 127.0.0.2; Linux routes
   * all of 127.0.0.0/8 to the loopback interface), so that the local front, which takes a request's
   * source from the TCP peer address, sees it as a different source.
   */
  constructor(
    baseUrl: string,
    maxSockets = 64,
    private readonly localAddress?: string,
  ) {
    this.base = new URL(baseUrl);
    if (this.base.hostname !== '127.0.0.1')
      throw new Error(`benchmarks talk to 127.0.0.1 only, not ${baseUrl}`);
    if (localAddress !== undefined && !localAddress.startsWith('127.'))
      throw new Error(`benchmarks bind to loopback addresses only, not ${localAddress}`);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  call<T = unknown>(path: string, options: CallOptions = {}): Promise<JsonResponse<T>> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.base.hostname,
          port: this.base.port,
          path,
          method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
          headers,
          agent: this.agent,
          ...(this.localAddress ? { localAddress: this.localAddress } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: body as T });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Calls and throws unless the status is the expected one. */
  async expect<T = unknown>(status: number, path: string, options: CallOptions = {}): Promise<T> {
    const res = await this.call<T>(path, options);
    if (res.status !== status) {
      throw new Error(
        `${options.method ?? 'POST'} ${path}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`,
      );
    }
    return res.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
