import { isUtf8 } from 'node:buffer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallerLimits } from './caller-limits.js';
import { localCors } from './cors.js';
import { apiDocumentRoutes } from './docs-routes.js';
import { type HttpCaller, HttpCallers } from './http-callers.js';
import { gatewayId } from './ids.js';
import { LambdaThrottledError, LambdaTimeoutError, type LocalLambdas } from './lambdas.js';
import { compileHttpRoutes } from './route-match.js';
import type { ApiTopology, RouteBinding } from './topology.js';

const API_ID = 'localhttp';
/** API Gateway's HTTP API payload limit. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface HttpFrontOptions {
  /** Origins allowed besides the template's CORS configuration (the local web client's). */
  readonly corsOrigins?: readonly string[];
  /** The WebSocket URL the served AsyncAPI document names. */
  readonly wsUrl?: string;
  /** Per-caller admission (default: `new CallerLimits()` with the `LOCAL_CALLER_*` settings). */
  readonly callerLimits?: CallerLimits;
}

export interface HttpFront {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Emulates an API Gateway HTTP API: route selection, Lambda authorizers (payload 2.0, simple
 * responses) and Lambda proxy integrations with the payload 2.0 event and response formats.
 */
export async function startHttpFront(
  api: ApiTopology,
  lambdas: LocalLambdas,
  port: number,
  options: HttpFrontOptions = {},
): Promise<HttpFront> {
  const match = compileHttpRoutes(api.routes);
  const callers = options.callerLimits ?? new CallerLimits();
  const callerKeys = new HttpCallers();
  const cors = localCors(api.cors, options.corsOrigins);
  let frontUrl = '';
  const documents = apiDocumentRoutes(() => ({
    httpUrl: frontUrl,
    wsUrl: options.wsUrl ?? 'ws://127.0.0.1:3001',
  }));
  // Timeouts (below) are checked every 5 s rather than Node's 30 s.
  const server = createServer({ connectionsCheckingInterval: 5_000 }, (req, res) => {
    handle(req, res).catch((err) => {
      console.error('local http front:', err);
      sendError(res, 500, 'internal', 'Internal error');
    });
  });
  server.keepAliveTimeout = 60_000;
  // A request whose headers or body do not arrive in 30 s (API Gateway's longest integration timeout)
  // is answered 400 below and closed, instead of holding its socket for Node's default of 300 s.
  server.requestTimeout = 30_000;
  server.headersTimeout = 30_000;
  // Headers past Node's limit (16 KB) never reach a route: answer 431 in the contract's shape, where
  // Node would close with a bare status line.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const late = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      error: {
        code: tooLarge ? 'headers_too_large' : 'invalid_request',
        message: tooLarge
          ? 'Request headers too large'
          : late
            ? 'Request not received in time'
            : 'Malformed HTTP request',
        requestId: gatewayId(),
      },
    });
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    if (cors.preflight(req, res)) return;
    for (const [name, value] of Object.entries(cors.headersFor(req))) res.setHeader(name, value);
    if (documents(method, url.pathname, res)) return;
    const body = await readBody(req);
    if (body === null) return;
    if (body === undefined) return sendError(res, 413, 'payload_too_large', 'Request body too large');
    const matched = match(method, url.pathname);
    if (!matched) return sendError(res, 404, 'not_found', 'Not found');
    const event = buildEvent(req, url, method, body, matched.route, matched.pathParameters);
    // One caller's requests run a few at a time, the rest in order (caller-limits.ts): one caller's
    // flood waits on itself, not on everyone. The caller is the user of an accepted credential, else
    // the address (http-callers.ts); the credential is the route's identity sources or, when it names
    // none (the stack's authorizer reads the header itself), the Authorization header.
    const identity = matched.route.authorizer?.identitySource.map((source) => identityValue(source, event));
    const credential = identity?.length ? identity.join('\n') : event.headers.authorization;
    const caller = callerKeys.of(credential, event.requestContext.http.sourceIp);
    const admitted = callers.run(caller.key, () =>
      respond(res, matched.route, event, identity ?? [], caller),
    );
    if (!admitted) return sendThrottled(res, event.requestContext.requestId);
    await admitted;
  }

  async function respond(
    res: ServerResponse,
    route: RouteBinding,
    event: ReturnType<typeof buildEvent>,
    identity: (string | undefined)[],
    caller: HttpCaller,
  ): Promise<void> {
    if (route.authorizer) {
      const verdict = await authorize(route, event, identity);
      if (verdict.status === 429) return sendThrottled(res, event.requestContext.requestId);
      if (verdict.status) {
        const code =
          verdict.status === 401 ? 'unauthorized' : verdict.status === 403 ? 'forbidden' : 'internal';
        return sendError(res, verdict.status, code, verdict.message, event.requestContext.requestId);
      }
      event.requestContext.authorizer = { lambda: verdict.context ?? {} };
      const principal = verdict.context?.userId;
      caller.accepted(typeof principal === 'string' ? principal : undefined);
    }
    let result: unknown;
    try {
      result = await lambdas.invoke(route.functionId, event);
    } catch (err) {
      if (err instanceof LambdaThrottledError) return sendThrottled(res, event.requestContext.requestId);
      if (err instanceof LambdaTimeoutError) {
        return sendError(
          res,
          504,
          'timeout',
          'The request did not finish in time',
          event.requestContext.requestId,
        );
      }
      console.error(`local http front: ${route.routeKey} failed:`, err);
      return sendError(res, 500, 'internal', 'Internal error', event.requestContext.requestId);
    }
    writeResult(res, result);
  }

  /** Runs the route's Lambda authorizer on the identity source values already read from the request. */
  async function authorize(
    route: RouteBinding,
    event: ReturnType<typeof buildEvent>,
    identity: (string | undefined)[],
  ) {
    const auth = route.authorizer as NonNullable<RouteBinding['authorizer']>;
    // API Gateway answers 401 itself, without calling the authorizer, when an identity source is missing.
    if (identity.some((v) => !v)) return { status: 401, message: 'Unauthorized' };
    const authEvent = {
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:us-east-1:000000000000:${API_ID}/$default/${event.requestContext.http.method}${event.rawPath}`,
      identitySource: identity,
      routeKey: event.routeKey,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      cookies: event.cookies,
      headers: event.headers,
      queryStringParameters: event.queryStringParameters,
      requestContext: event.requestContext,
      pathParameters: event.pathParameters,
      stageVariables: undefined,
    };
    try {
      const result = (await lambdas.invoke(auth.functionId, authEvent)) as {
        isAuthorized?: boolean;
        context?: Record<string, unknown>;
      };
      if (!result?.isAuthorized) return { status: 403, message: 'Forbidden' };
      return { status: 0, message: '', context: result.context ?? {} };
    } catch (err) {
      if (err instanceof LambdaThrottledError) return { status: 429, message: 'Too Many Requests' };
      console.error('local http front: authorizer failed:', err);
      return { status: 500, message: 'Internal Server Error' };
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  frontUrl = `http://127.0.0.1:${address.port}`;
  return {
    url: frontUrl,
    close: () => closeServer(server),
  };
}

function buildEvent(
  req: IncomingMessage,
  url: URL,
  method: string,
  body: Buffer,
  route: RouteBinding,
  pathParameters: Record<string, string> | undefined,
) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const cookies = req.headers.cookie?.split(';').map((c) => c.trim());
  // A textual body that is not valid UTF-8 goes base64-encoded, as bytes: decoding it here would
  // replace the bad bytes with U+FFFD, and the route could no longer tell it from valid text.
  const text = isTextual(headers['content-type']) && isUtf8(body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies,
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters,
    stageVariables: undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: API_ID,
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: '127',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: gatewayId(),
      routeKey: route.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: undefined as { lambda: Record<string, unknown> } | undefined,
    },
    body: body.length ? (text ? body.toString('utf8') : body.toString('base64')) : undefined,
    isBase64Encoded: body.length > 0 && !text,
  };
}

function identityValue(source: string, event: ReturnType<typeof buildEvent>): string | undefined {
  const header = /^\$request\.header\.(.+)$/i.exec(source);
  if (header) return event.headers[(header[1] as string).toLowerCase()];
  const query = /^\$request\.querystring\.(.+)$/i.exec(source);
  if (query) return event.queryStringParameters?.[query[1] as string];
  return undefined;
}

function isTextual(contentType: string | undefined): boolean {
  if (!contentType) return true;
  return /^(text\/|application\/(json|xml|x-www-form-urlencoded|.*\+json))/i.test(contentType);
}

/** Payload 2.0 responses: a structured result, or any other value sent as JSON with status 200. */
function writeResult(res: ServerResponse, result: unknown): void {
  const structured = result && typeof result === 'object' && 'statusCode' in result;
  if (!structured) {
    const text = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { 'content-type': 'application/json' }).end(text);
    return;
  }
  const r = result as {
    statusCode: number;
    headers?: Record<string, string | number | boolean>;
    body?: string;
    isBase64Encoded?: boolean;
    cookies?: string[];
  };
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k] = String(v);
  if (r.cookies?.length) headers['set-cookie'] = r.cookies;
  const body = r.body ? Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8') : undefined;
  res.writeHead(r.statusCode, headers).end(body);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** An error the front answers itself, in the contract's error shape. */
function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  requestId = gatewayId(),
) {
  send(res, status, { error: { code, message, requestId } });
}

/** The contract's 429 body for a request the runtime refuses before any handler runs (retry after 1 s). */
export function throttledBody(requestId: string): string {
  return JSON.stringify({
    error: { code: 'throttled', message: 'Too many requests, retry later', requestId, retryAfterMs: 1000 },
  });
}

/** A function at its concurrency limit: refused at once, in the contract's error shape. */
function sendThrottled(res: ServerResponse, requestId: string): void {
  if (res.headersSent) return;
  res
    .writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
    .end(throttledBody(requestId));
}

/** The request's body; undefined when it is over the payload limit, null when the client went away. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    // Aborted or reset by the client: there is no one left to answer.
    req.on('error', () => resolve(null));
  });
}

/** Closes a server and its idle keep-alive sockets. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
