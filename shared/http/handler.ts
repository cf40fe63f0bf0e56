import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { withArrivalTime } from '../domain/rate-limits.js';
import {
  AppError,
  InvalidRequestError,
  RequestTimeoutError,
  toAppError,
  UnauthorizedError,
  UnavailableError,
} from '../errors.js';
import { logger } from '../logger.js';
import { runIdempotent } from './idempotency.js';
import { type HttpEvent, parseJsonBody, requireWellFormedQuery } from './request.js';
import { errorResponse, type HttpResponse } from './response.js';

export interface HttpRequest {
  readonly event: HttpEvent;
  readonly requestId: string;
  /** The caller; empty on public routes. */
  readonly userId: string;
  readonly body: unknown;
  /** The caller's token (id and expiry, epoch seconds) as the authorizer verified it; absent on public routes. */
  readonly token: { readonly tokenId: string; readonly expiresAt: number } | undefined;
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
}

export interface RouteOptions {
  /** Public routes need no token. */
  readonly public?: boolean;
  /** Lets a closing or closed account in (to follow its own deletion); every other route refuses it. */
  readonly allowClosingAccount?: boolean;
  /**
   * The body carries a password or the answer a token: an `Idempotency-Key` is accepted but no record
   * is kept (Powertools would store the response and a fast hash of the body).
   */
  readonly handlesCredentials?: boolean;
}

/** Time kept back from Lambda's timeout to answer a request that ran out of time. */
const TIMEOUT_MARGIN_MS = 500;
const MUTATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/**
 * Wraps a route's use case: authentication verdict, JSON body, idempotency key, and the one mapping
 * from errors to the contract's error shape. A thrown AppError becomes its status; anything else a 500
 * (or a 503 for a dependency that is down).
 */
export function httpRoute(options: RouteOptions, run: (req: HttpRequest) => Promise<HttpResponse>) {
  // Limits count the request when API Gateway received it (see withArrivalTime).
  const core = (event: HttpEvent, context: Context): Promise<HttpResponse> =>
    withArrivalTime(event.requestContext.timeEpoch, () => handle(event, context));
  const handle = async (event: HttpEvent, context: Context): Promise<HttpResponse> => {
    const requestId = event.requestContext.requestId;
    const userId = options.public ? '' : authenticatedUser(event, options.allowClosingAccount ?? false);
    const method = event.requestContext.http.method;
    const key = event.headers?.['idempotency-key'];
    if (key !== undefined && (key.length < 1 || key.length > 255)) {
      throw new InvalidRequestError('Idempotency-Key: must be 1-255 characters', {
        field: 'Idempotency-Key',
      });
    }
    requireWellFormedQuery(event);
    const execute = async (): Promise<HttpResponse> => {
      let body: { value: unknown } | undefined;
      const req: HttpRequest = {
        event,
        requestId,
        userId,
        // Parsed on first use, so routes without a body never reject one.
        get body() {
          body ??= { value: parseJsonBody(event) };
          return body.value;
        },
        token: tokenOf(event),
        params: event.pathParameters ?? {},
        query: event.queryStringParameters ?? {},
      };
      try {
        return await run(req);
      } catch (err) {
        // Client errors are outcomes worth replaying; server errors are retried afresh.
        if (err instanceof AppError && err.status < 500) return errorResponse(err, requestId);
        throw err;
      }
    };
    // No record for anonymous callers: they have no scope of their own, and the public routes (register,
    // login) answer with a live token and carry a password, neither of which may be stored at rest.
    if (!key || !MUTATING.has(method) || !userId || options.handlesCredentials) return execute();
    return runIdempotent(
      {
        scope: `${userId}#${key}`,
        payload: { route: event.routeKey, params: event.pathParameters ?? {}, body: comparableBody(event) },
        run: execute,
      },
      context,
    );
  };

  // Answers in the contract's shape before Lambda's own timeout would cut the function off (API
  // Gateway would then answer with a body of its own).
  const bounded = (event: HttpEvent, context: Context): Promise<HttpResponse> => {
    const remaining = context.getRemainingTimeInMillis?.() ?? 0;
    if (remaining <= 0) return core(event, context);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RequestTimeoutError()),
        Math.max(100, remaining - TIMEOUT_MARGIN_MS),
      );
    });
    return Promise.race([core(event, context), deadline]).finally(() => clearTimeout(timer));
  };

  return middy<HttpEvent, HttpResponse, Error, Context>(bounded)
    .before(async ({ event }) => {
      logger.appendKeys({ requestId: event.requestContext.requestId, routeKey: event.routeKey });
    })
    .onError(async (request) => {
      const appError = toAppError(request.error);
      if (appError.code === 'unavailable')
        logger.warn('dependency unavailable', { error: request.error as Error });
      else if (appError.status >= 500) logger.error('request failed', { error: request.error as Error });
      request.response = errorResponse(appError, request.event.requestContext.requestId);
    });
}

/**
 * The body as a repeat is compared: the parsed JSON value (Powertools hashes it with its keys sorted),
 * so the same body with another key order or other whitespace is the same request. A body that does
 * not parse is compared as its text (the route answers it with a 4xx anyway).
 */
function comparableBody(event: HttpEvent): unknown {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return { text };
  }
}

function authenticatedUser(event: HttpEvent, allowClosing: boolean): string {
  const auth = event.requestContext.authorizer?.lambda;
  if (auth?.userId) {
    // In-process callers pass no status: the account counts as active.
    const status = auth.accountStatus ?? 'active';
    if (status === 'active' || allowClosing) return auth.userId;
    throw new UnauthorizedError(`Account is ${status}`);
  }
  if (auth?.unavailable) throw new UnavailableError('Could not check the account, retry later');
  throw new UnauthorizedError(auth?.denyReason);
}

function tokenOf(event: HttpEvent): HttpRequest['token'] {
  const auth = event.requestContext.authorizer?.lambda;
  if (!auth?.userId || auth.tokenId === undefined) return undefined;
  return { tokenId: String(auth.tokenId), expiresAt: Number(auth.tokenExpiresAt) };
}
