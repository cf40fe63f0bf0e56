import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { CallerLimits } from './caller-limits.js';
import { closeServer, throttledBody } from './http-front.js';
import { gatewayId } from './ids.js';
import { LambdaThrottledError, type LocalLambdas } from './lambdas.js';
import { checkSigV4, type LocalCredentials } from './sigv4-check.js';
import type { ApiTopology, RouteBinding } from './topology.js';

const API_ID = 'localws';
/** API Gateway's WebSocket frame limit: larger frames close the connection (1009). */
export const MAX_FRAME_BYTES = 32 * 1024;
/** API Gateway's maximum connection duration: it closes a WebSocket after two hours (1001 Going Away). */
export const MAX_CONNECTION_LIFETIME_MS = 2 * 60 * 60 * 1000;
/**
 * Bytes a connection may have waiting to be sent. Past it, `@connections` POST answers 429
 * LimitExceededException (what API Gateway answers when a client's buffer is full) instead of waiting
 * for a client that does not read.
 */
export const MAX_BUFFERED_BYTES = 512 * 1024;
/** `$disconnect` invocations at once: a storm of closing sockets queues here instead of flooding the functions. */
const DISCONNECT_CONCURRENCY = 8;

export interface WsFrontOptions {
  /** Connections are closed (1001) after this long; API Gateway's two hours by default. */
  readonly maxLifetimeMs?: number;
  /**
   * The key pair whose SigV4 signature `@connections` requests must carry (the functions' own
   * credentials), as IAM protects the API on AWS. Without it the management API refuses everything.
   */
  readonly credentials: LocalCredentials;
  /**
   * Admission of upgrades (`$connect` and its authorizer) per credential, else per address; by default
   * the `LOCAL_CALLER_*` limits (caller-limits.ts).
   */
  readonly upgradeLimits?: CallerLimits;
}

interface LiveConnection {
  readonly socket: WebSocket;
  readonly connectedAt: number;
  lastActiveAt: number;
  /** The last frame's `requestTimeEpoch`: each frame gets a later one (see onFrame). */
  lastFrameEpoch: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly authorizer: Record<string, unknown> | undefined;
}

/**
 * The `throttled` error frame the runtime answers for a frame it refuses before any handler runs;
 * `frame` is the body as the front already parsed it (undefined when it is not a JSON object).
 */
function sendThrottled(conn: LiveConnection, frame: Record<string, unknown> | undefined): void {
  if (conn.socket.readyState !== conn.socket.OPEN) return;
  const requestId = stringField(frame, 'requestId');
  const clientMessageId = stringField(frame, 'clientMessageId');
  conn.socket.send(
    JSON.stringify({
      type: 'error',
      code: 'throttled',
      message: 'Too many requests, retry later',
      retryAfterMs: 1000,
      ...(requestId ? { requestId } : {}),
      ...(clientMessageId ? { clientMessageId } : {}),
    }),
  );
}

export interface WsFront {
  readonly url: string;
  /** Base URL of the `@connections` management API (the `WS_CALLBACK_URL` handlers use). */
  readonly callbackUrl: string;
  close(): Promise<void>;
}

/**
 * Emulates an API Gateway WebSocket API: `$connect` with its REQUEST authorizer, route selection on
 * the frame, two-way route responses, `$disconnect`, and the `@connections` management API (POST, GET,
 * DELETE, with 410 GoneException for a closed connection) on the same port.
 */
export async function startWsFront(
  api: ApiTopology,
  lambdas: LocalLambdas,
  port: number,
  stage: string,
  options: WsFrontOptions,
): Promise<WsFront> {
  const maxLifetimeMs = options.maxLifetimeMs ?? MAX_CONNECTION_LIFETIME_MS;
  const routes = new Map(api.routes.map((r) => [r.routeKey, r]));
  const selectionField = /^\$request\.body\.(.+)$/.exec(api.routeSelectionExpression ?? '')?.[1] ?? 'action';
  const connect = routes.get('$connect');
  const connections = new Map<string, LiveConnection>();
  // Frame invocations per user (the authorizer's userId, else the connection).
  const frames = new CallerLimits();
  // Upgrades ($connect and its authorizer) per credential.
  const upgrades = options.upgradeLimits ?? new CallerLimits();
  // $disconnect invocations still running; a clean shutdown lets them finish.
  const disconnecting = new Set<Promise<unknown>>();
  const disconnectQueue: (() => Promise<unknown>)[] = [];
  let disconnectsRunning = 0;
  const runDisconnects = () => {
    while (disconnectsRunning < DISCONNECT_CONCURRENCY && disconnectQueue.length) {
      const job = disconnectQueue.shift() as () => Promise<unknown>;
      disconnectsRunning++;
      const run: Promise<unknown> = job().finally(() => {
        disconnectsRunning--;
        disconnecting.delete(run);
        runDisconnects();
      });
      disconnecting.add(run);
    }
  };
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const server = createServer((req, res) => {
    manage(req, res).catch((err) => {
      console.error('local @connections:', err);
      reply(res, 500, { message: 'Internal server error' });
    });
  });

  // Set once listening; events built after the server closed (late disconnects) keep it.
  let domainName = '127.0.0.1';
  const baseContext = (routeKey: string, eventType: string, connectionId: string, conn?: LiveConnection) => {
    const now = Date.now();
    return {
      routeKey,
      eventType,
      extendedRequestId: gatewayId(),
      requestTime: new Date(now).toUTCString(),
      messageDirection: 'IN',
      stage,
      connectedAt: conn?.connectedAt ?? now,
      requestTimeEpoch: now,
      identity: { sourceIp: conn?.sourceIp ?? '127.0.0.1', userAgent: conn?.userAgent ?? '' },
      requestId: gatewayId(),
      domainName,
      connectionId,
      apiId: API_ID,
      authorizer: conn?.authorizer,
    };
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client may reset the connection while its $connect runs; that must not crash the runtime.
    socket.on('error', () => socket.destroy());
    // One caller's upgrades (by the credential it presents, else its address) run a few at a time, the
    // rest in order (caller-limits.ts): a connection storm waits on itself, not on everyone.
    const query = Object.fromEntries(new URL(req.url ?? '/', 'http://localhost').searchParams);
    const headers = flatHeaders(req);
    const credential = connect?.authorizer ? identity(connect, headers, query) : undefined;
    const caller = credential ? `identity:${credential}` : `ip:${req.socket.remoteAddress}`;
    const admitted = upgrades.run(caller, () =>
      upgrade(req, socket, head, headers, query).catch((err) => {
        console.error('local ws front: $connect failed:', err);
        refuse(socket, 500);
      }),
    );
    if (!admitted) refuse(socket, 429, throttledUpgrade());
  });

  async function upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    headers: Record<string, string>,
    query: Record<string, string>,
  ): Promise<void> {
    // A client that gave up while its upgrade waited its turn gets no $connect.
    if (socket.destroyed) return;
    const connectionId = gatewayId();
    const pending = {
      connectedAt: Date.now(),
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: headers['user-agent'] ?? '',
    };
    let authorizer: Record<string, unknown> | undefined;
    if (connect?.authorizer) {
      const verdict = await authorize(connect, connectionId, headers, query);
      if (verdict.status) return refuse(socket, verdict.status);
      authorizer = verdict.context;
    }
    const conn0 = { ...pending, authorizer } as LiveConnection;
    if (connect) {
      const event = {
        headers,
        multiValueHeaders: multi(headers),
        queryStringParameters: Object.keys(query).length ? query : undefined,
        multiValueQueryStringParameters: Object.keys(query).length ? multi(query) : undefined,
        requestContext: baseContext('$connect', 'CONNECT', connectionId, conn0),
        isBase64Encoded: false,
      };
      const result = (await lambdas.invoke(connect.functionId, event).catch((err) => {
        console.error('local ws front: $connect handler failed:', err);
        return { statusCode: 500 };
      })) as ConnectResult | undefined;
      const status = result?.statusCode ?? 200;
      if (status < 200 || status > 299) return refuse(socket, status, result);
    }
    // Gone while $connect ran: API Gateway would call $disconnect for a connection it had accepted.
    if (socket.destroyed) return disconnected(connectionId, conn0, headers);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: LiveConnection = { ...conn0, socket: ws, lastActiveAt: Date.now(), lastFrameEpoch: 0 };
      connections.set(connectionId, conn);
      const lifetime = setTimeout(() => ws.close(1001, 'Going away'), maxLifetimeMs);
      lifetime.unref();
      // On AWS the session sweeper (a scheduled function of the stack, also run here) closes a socket
      // within about a minute of its token's expiry. Locally the front knows the expiry from the
      // authorizer's context and closes it at that moment, the way the sweeper does.
      const tokenExpiry = sessionEndTimer(ws, conn.authorizer?.tokenExpiresAt);
      // Oversize frames (1009) and protocol errors close the socket; they must not crash the runtime.
      ws.on('error', () => ws.terminate());
      ws.on('message', (data, isBinary) => {
        conn.lastActiveAt = Date.now();
        const body = isBinary ? Buffer.from(data as Buffer).toString('base64') : data.toString();
        onFrame(connectionId, conn, body, isBinary).catch((err) => console.error('local ws front:', err));
      });
      ws.on('close', () => {
        clearTimeout(lifetime);
        if (tokenExpiry) clearTimeout(tokenExpiry);
        connections.delete(connectionId);
        disconnected(connectionId, conn, headers);
      });
    });
  }

  /** Queues the `$disconnect` invocation of a connection that ended. */
  function disconnected(connectionId: string, conn: LiveConnection, headers: Record<string, string>): void {
    const disconnect = routes.get('$disconnect');
    if (!disconnect) return;
    const event = {
      headers,
      multiValueHeaders: multi(headers),
      requestContext: {
        ...baseContext('$disconnect', 'DISCONNECT', connectionId, conn),
        disconnectStatusCode: 1000,
        disconnectReason: '',
      },
      isBase64Encoded: false,
    };
    disconnectQueue.push(() =>
      lambdas
        .invoke(disconnect.functionId, event)
        .catch((err) => console.error('local ws front: $disconnect:', err)),
    );
    runDisconnects();
  }

  async function authorize(
    route: RouteBinding,
    connectionId: string,
    headers: Record<string, string>,
    query: Record<string, string>,
  ): Promise<{ status: number; context?: Record<string, unknown> }> {
    const auth = route.authorizer as NonNullable<RouteBinding['authorizer']>;
    if (!identity(route, headers, query)) return { status: 401 };
    const event = {
      type: 'REQUEST',
      methodArn: `arn:aws:execute-api:us-east-1:000000000000:${API_ID}/${stage}/$connect`,
      headers,
      multiValueHeaders: multi(headers),
      queryStringParameters: query,
      multiValueQueryStringParameters: multi(query),
      stageVariables: {},
      requestContext: baseContext('$connect', 'CONNECT', connectionId),
    };
    try {
      const result = (await lambdas.invoke(auth.functionId, event)) as {
        principalId?: string;
        policyDocument?: { Statement?: { Effect?: string }[] };
        context?: Record<string, unknown>;
      };
      const allowed = result?.policyDocument?.Statement?.some((s) => s.Effect === 'Allow') ?? false;
      if (!allowed) return { status: 403 };
      return { status: 0, context: { principalId: result.principalId, ...result.context } };
    } catch (err) {
      // A Lambda authorizer that fails with exactly "Unauthorized" makes API Gateway answer 401.
      if (err instanceof Error && err.message === 'Unauthorized') return { status: 401 };
      console.error('local ws front: authorizer failed:', err);
      return { status: 500 };
    }
  }

  async function onFrame(connectionId: string, conn: LiveConnection, body: string, isBinary: boolean) {
    let routeKey = '$default';
    // Parsed once for route selection and for the front's own refusal below (a flooding socket's
    // frames are refused here, so this is per-frame work on the busiest path).
    let frame: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        frame = parsed as Record<string, unknown>;
    } catch {
      // not JSON: API Gateway falls back to $default
    }
    const value = frame?.[selectionField];
    if (typeof value === 'string' && routes.has(value) && !value.startsWith('$')) routeKey = value;
    const route = routes.get(routeKey);
    if (!route) return;
    // API Gateway stamps each frame on arrival. This process may read several frames in one turn of the
    // event loop after a stall, which would give them one millisecond; they still arrived in order.
    const context = baseContext(routeKey, 'MESSAGE', connectionId, conn);
    context.requestTimeEpoch = Math.max(context.requestTimeEpoch, conn.lastFrameEpoch + 1);
    conn.lastFrameEpoch = context.requestTimeEpoch;
    const event = {
      requestContext: context,
      body,
      isBase64Encoded: isBinary,
    };
    // One user's frames run at most CALLER_CONCURRENCY at a time, the rest in arrival order (see
    // caller-limits.ts); past the queue's bound a frame is refused at once.
    const user = typeof conn.authorizer?.userId === 'string' ? conn.authorizer.userId : connectionId;
    const admitted = frames.run(user, () => runFrame(conn, route, routeKey, event, frame, connectionId));
    if (!admitted) return sendThrottled(conn, frame);
    await admitted;
  }

  async function runFrame(
    conn: LiveConnection,
    route: RouteBinding,
    routeKey: string,
    event: unknown,
    frame: Record<string, unknown> | undefined,
    connectionId: string,
  ): Promise<void> {
    try {
      const result = (await lambdas.invoke(route.functionId, event)) as
        | { body?: unknown }
        | string
        | undefined;
      if (!route.returnResponse || result === undefined) return;
      const text =
        typeof result === 'string' ? result : typeof result.body === 'string' ? result.body : undefined;
      if (text !== undefined && conn.socket.readyState === conn.socket.OPEN) conn.socket.send(text);
    } catch (err) {
      if (err instanceof LambdaThrottledError) return sendThrottled(conn, frame);
      console.error(`local ws front: ${routeKey} failed:`, err);
      if (conn.socket.readyState === conn.socket.OPEN) {
        conn.socket.send(
          JSON.stringify({ message: 'Internal server error', connectionId, requestId: gatewayId() }),
        );
      }
    }
  }

  /** The management API: `/@connections/{id}` with an optional stage prefix. */
  async function manage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^(?:\/[^/]+)?\/@connections\/([^/]+)$/.exec(url.pathname);
    if (!m) return reply(res, 404, { message: 'Not Found' });
    const connectionId = decodeURIComponent(m[1] as string);
    const data = await readAll(req);
    const denied = await checkSigV4(req, data, options.credentials);
    if (denied) return reply(res, 403, { message: denied }, 'ForbiddenException');
    const conn = connections.get(connectionId);
    if (!conn || conn.socket.readyState !== conn.socket.OPEN) {
      return reply(res, 410, { message: 'Gone' }, 'GoneException');
    }
    switch (req.method) {
      case 'POST':
        if (data.length > 128 * 1024)
          return reply(res, 413, { message: 'Payload too large' }, 'PayloadTooLargeException');
        // A reset peer is gone, as API Gateway reports it.
        if (conn.socket.readyState !== conn.socket.OPEN)
          return reply(res, 410, { message: 'Gone' }, 'GoneException');
        // Never waits for the client to read: a full buffer is refused at once, as API Gateway does.
        if (conn.socket.bufferedAmount > MAX_BUFFERED_BYTES)
          return reply(res, 429, { message: 'Client buffer is full' }, 'LimitExceededException');
        // A write error (the peer reset the connection meanwhile) closes the socket; the next post is 410.
        conn.socket.send(data.toString('utf8'), () => undefined);
        return reply(res, 200);
      case 'GET':
        return reply(res, 200, {
          ConnectedAt: new Date(conn.connectedAt).toISOString(),
          LastActiveAt: new Date(conn.lastActiveAt).toISOString(),
          Identity: { SourceIp: conn.sourceIp, UserAgent: conn.userAgent },
        });
      case 'DELETE':
        conn.socket.close(1000, 'Closed by the server');
        return reply(res, 204);
      default:
        return reply(res, 405, { message: 'Method not allowed' });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  domainName = `127.0.0.1:${address.port}`;
  return {
    url: `ws://127.0.0.1:${address.port}`,
    callbackUrl: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const conn of connections.values()) conn.socket.terminate();
      // Queued disconnects still run (bounded), so a clean shutdown leaves no connection record behind.
      runDisconnects();
      wss.close();
      await closeServer(server);
      await Promise.race([Promise.allSettled([...disconnecting]), new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}

/** Timers longer than this (about 24.8 days) fire at once in Node.js; a session never lasts that long. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * At the token's expiry (epoch seconds, from the authorizer's context), sends `sessionEnded` with
 * `token_expired` and closes the socket as `@connections` DELETE does (1000). None without an expiry.
 */
function sessionEndTimer(ws: WebSocket, tokenExpiresAt: unknown): NodeJS.Timeout | undefined {
  const expiresAt = Number(tokenExpiresAt);
  if (!Number.isFinite(expiresAt) || expiresAt <= 0) return undefined;
  const timer = setTimeout(
    () => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(JSON.stringify({ type: 'sessionEnded', reason: 'token_expired' }));
      ws.close(1000, 'Closed by the server');
    },
    Math.min(MAX_TIMER_MS, Math.max(0, expiresAt * 1000 - Date.now())),
  );
  timer.unref();
  return timer;
}

/** A short string field of a parsed frame (at most 128 characters), if it has one. */
function stringField(frame: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = frame?.[name];
  return typeof value === 'string' && value.length <= 128 ? value : undefined;
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

function multi(values: Record<string, string>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [v]]));
}

/** What a `$connect` integration answers (a Lambda proxy result). */
interface ConnectResult {
  statusCode?: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * The values of a route's authorizer identity sources (query string parameters and headers), joined;
 * undefined when one is missing, as API Gateway then answers 401 without calling the authorizer.
 */
function identity(
  route: RouteBinding,
  headers: Record<string, string>,
  query: Record<string, string>,
): string | undefined {
  const auth = route.authorizer as NonNullable<RouteBinding['authorizer']>;
  const values: string[] = [];
  for (const source of auth.identitySource) {
    const q = /^route\.request\.querystring\.(.+)$/.exec(source);
    const h = /^route\.request\.header\.(.+)$/i.exec(source);
    const value = q ? query[q[1] as string] : h ? headers[(h[1] as string).toLowerCase()] : undefined;
    if (!value) return undefined;
    values.push(value);
  }
  return values.join('\n');
}

/** The refusal of an upgrade whose caller already has LOCAL_CALLER_QUEUE waiting, in the contract's error shape. */
function throttledUpgrade(): ConnectResult {
  return {
    statusCode: 429,
    headers: { 'Retry-After': '1' },
    body: throttledBody(gatewayId()),
  };
}

/**
 * Answers a refused upgrade with its status. A `$connect` that answered a JSON body (a 429 in the
 * contract's error shape) has it passed on with its `Retry-After`, otherwise `{"message": ...}`.
 */
function refuse(socket: Duplex, status: number, result?: ConnectResult): void {
  const text =
    status === 401
      ? 'Unauthorized'
      : status === 403
        ? 'Forbidden'
        : status === 429
          ? 'Too Many Requests'
          : 'Error';
  const body =
    typeof result?.body === 'string' && result.body ? result.body : JSON.stringify({ message: text });
  const retryAfter = Object.entries(result?.headers ?? {}).find(
    ([k]) => k.toLowerCase() === 'retry-after',
  )?.[1];
  const headers = [
    `HTTP/1.1 ${status} ${text}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(retryAfter && /^\d+$/.test(retryAfter) ? [`Retry-After: ${retryAfter}`] : []),
    'Connection: close',
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

function reply(res: ServerResponse, status: number, body?: unknown, errorType?: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers).end(body === undefined ? undefined : JSON.stringify(body));
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
