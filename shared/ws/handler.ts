import middy from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { InvalidRequestError, PayloadTooLargeError, toAppError, UnauthorizedError } from '../errors.js';
import { logger } from '../logger.js';

/** API Gateway's WebSocket frame limit. */
export const MAX_FRAME_BYTES = 32 * 1024;

export type WsEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: APIGatewayProxyWebsocketEventV2['requestContext'] & { authorizer?: { userId?: string } };
};

export interface WsRequest {
  readonly event: WsEvent;
  readonly connectionId: string;
  readonly userId: string;
  /** The parsed frame (an object with `action`). */
  readonly frame: Record<string, unknown>;
  /** The client's own `requestId`, echoed in the answer. */
  readonly clientRequestId: string | undefined;
}

/** What a route answers the calling connection; `undefined` answers nothing. */
export type WsReply = Record<string, unknown> & { type: string };

/** Parses a frame: JSON object text within the size limit, or a typed error. */
export function parseFrame(body: string | undefined): Record<string, unknown> {
  if (!body) throw new InvalidRequestError('frame: empty');
  if (Buffer.byteLength(body, 'utf8') > MAX_FRAME_BYTES) throw new PayloadTooLargeError('frame: over 32 KB');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidRequestError('frame: not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequestError('frame: must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function clientRequestIdOf(body: string | undefined): string | undefined {
  try {
    const id = (JSON.parse(body ?? '') as { requestId?: unknown }).requestId;
    return typeof id === 'string' && id.length <= 128 ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Wraps a two-way WebSocket route: the reply (or the contract's `error` frame) is the route response,
 * so the calling connection gets it without a `@connections` round trip. The connection stays open.
 */
export function wsRoute(run: (req: WsRequest) => Promise<WsReply | undefined>) {
  const core = async (event: WsEvent): Promise<APIGatewayProxyResultV2> => {
    const clientRequestId = clientRequestIdOf(event.body);
    const userId = event.requestContext.authorizer?.userId;
    if (!userId) throw new UnauthorizedError();
    const frame = parseFrame(event.body);
    const reply = await run({
      event,
      connectionId: event.requestContext.connectionId,
      userId,
      frame,
      clientRequestId,
    });
    if (!reply) return { statusCode: 200 };
    return {
      statusCode: 200,
      body: JSON.stringify(clientRequestId ? { ...reply, requestId: clientRequestId } : reply),
    };
  };
  return middy<WsEvent, APIGatewayProxyResultV2, Error, Context>(core)
    .before(async ({ event }) => {
      logger.appendKeys({
        connectionId: event.requestContext.connectionId,
        routeKey: event.requestContext.routeKey,
      });
    })
    .onError(async (request) => {
      const err = toAppError(request.error);
      if (err.code === 'unavailable')
        logger.warn('dependency unavailable', { error: request.error as Error });
      else if (err.status >= 500) logger.error('frame failed', { error: request.error as Error });
      const message = err.status < 500 || err.code === 'unavailable' ? err.message : 'Internal error';
      const requestId = clientRequestIdOf(request.event.body);
      request.response = {
        statusCode: 200,
        body: JSON.stringify({ type: 'error', code: err.code, message, ...(requestId ? { requestId } : {}) }),
      };
    });
}
