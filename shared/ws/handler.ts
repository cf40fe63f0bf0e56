import middy from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { renewPresence } from '../domain/presence.js';
import { pushToConnections } from '../domain/push.js';
import { withArrivalTime } from '../domain/rate-limits.js';
import { InvalidRequestError, PayloadTooLargeError, toAppError, UnauthorizedError } from '../errors.js';
import { logger } from '../logger.js';
import { requireWellFormedText } from '../unicode.js';
import { type ConnectionAuth, endSession, frameSessionEnded } from './session.js';

/** API Gateway's WebSocket frame limit. */
export const MAX_FRAME_BYTES = 32 * 1024;

export type WsEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: APIGatewayProxyWebsocketEventV2['requestContext'] & { authorizer?: ConnectionAuth };
};

export interface WsRequest {
  readonly event: WsEvent;
  readonly connectionId: string;
  readonly userId: string;
  /** The parsed frame (an object with `action`). */
  readonly frame: Record<string, unknown>;
  /** The client's own `requestId`, echoed in the answer. */
  readonly clientRequestId: string | undefined;
  /** Posts a frame to the calling connection now, through `@connections` (requestId echoed). */
  reply(frame: WsReply): Promise<void>;
}

export interface WsRouteOptions {
  /**
   * One-way routes have no route response: answers and errors go through `@connections`, so a route
   * can acknowledge first and keep working (fan-out) without the client waiting.
   */
  readonly oneWay?: boolean;
}

/** What a route answers the calling connection; `undefined` answers nothing. */
export type WsReply = Record<string, unknown> & { type: string };

/** A frame body parsed once: its JSON value, or the typed error that refuses it. */
type ParsedBody =
  | { ok: true; value: unknown }
  | { ok: false; error: InvalidRequestError | PayloadTooLargeError };

/** JSON.parse of a body within the size limit; never throws. A body over the limit is not parsed. */
function parseBody(body: string | undefined): ParsedBody {
  if (!body) return { ok: false, error: new InvalidRequestError('frame: empty') };
  if (Buffer.byteLength(body, 'utf8') > MAX_FRAME_BYTES)
    return { ok: false, error: new PayloadTooLargeError('frame: over 32 KB') };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false, error: new InvalidRequestError('frame: not valid JSON') };
  }
}

/** Checks a parsed body: a JSON object of Unicode text with a valid `requestId`, or a typed error. */
function toFrame(parsed: ParsedBody): Record<string, unknown> {
  if (!parsed.ok) throw parsed.error;
  const { value } = parsed;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequestError('frame: must be a JSON object');
  }
  requireWellFormedText(value, 'frame');
  const { requestId } = value as { requestId?: unknown };
  if (requestId !== undefined && (typeof requestId !== 'string' || requestId.length > 128)) {
    // Refused rather than dropped: an answer without the id the client waits on would look lost.
    throw new InvalidRequestError('requestId: must be a string of at most 128 characters');
  }
  return value as Record<string, unknown>;
}

/** Parses a frame: JSON object text within the size limit, or a typed error. */
export function parseFrame(body: string | undefined): Record<string, unknown> {
  return toFrame(parseBody(body));
}

/** A short string field of a parsed body (at most 128 characters), if it has one. */
function stringField(parsed: ParsedBody, name: string): string | undefined {
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return undefined;
  const value = (parsed.value as Record<string, unknown>)[name];
  return typeof value === 'string' && value.length <= 128 ? value : undefined;
}

// Each invocation's body, parsed once for the route, the requestId it echoes and its error path.
const parsedBodies = new WeakMap<WsEvent, ParsedBody>();
function bodyOf(event: WsEvent): ParsedBody {
  let parsed = parsedBodies.get(event);
  if (!parsed) {
    parsed = parseBody(event.body);
    parsedBodies.set(event, parsed);
  }
  return parsed;
}

/**
 * Wraps a WebSocket route. Two-way routes answer with the route response (no `@connections` round
 * trip); one-way routes answer through `@connections`. Errors become the contract's `error` frame and
 * the connection stays open.
 */
export function wsRoute(run: (req: WsRequest) => Promise<WsReply | undefined>, options: WsRouteOptions = {}) {
  // Limits count the frame when API Gateway received it (see withArrivalTime).
  const core = (event: WsEvent): Promise<APIGatewayProxyResultV2> =>
    withArrivalTime(event.requestContext.requestTimeEpoch, () => handle(event));
  const handle = async (event: WsEvent): Promise<APIGatewayProxyResultV2> => {
    const clientRequestId = stringField(bodyOf(event), 'requestId');
    const connectionId = event.requestContext.connectionId;
    const withId = (frame: WsReply) => (clientRequestId ? { ...frame, requestId: clientRequestId } : frame);
    const userId = event.requestContext.authorizer?.userId;
    if (!userId) throw new UnauthorizedError();
    // Every frame re-checks the session: an expired, revoked or closing account gets no answer, ack
    // or sync, but a `sessionEnded` frame and a closed socket.
    const ended = await frameSessionEnded(event.requestContext.authorizer as ConnectionAuth);
    if (ended) {
      await endSession(connectionId, ended);
      return { statusCode: 200 };
    }
    // Any frame is a sign of life: it renews the connection's presence lease (rarely a write), beside
    // the frame's own work rather than before it; awaited before returning, as Lambda freezes after.
    const renewed = renewPresence(connectionId);
    try {
      const frame = toFrame(bodyOf(event));
      const reply = async (answer: WsReply) => {
        await pushToConnections([connectionId], withId(answer));
      };
      const answer = await run({ event, connectionId, userId, frame, clientRequestId, reply });
      if (!answer) return { statusCode: 200 };
      if (options.oneWay) {
        await reply(answer);
        return { statusCode: 200 };
      }
      return { statusCode: 200, body: JSON.stringify(withId(answer)) };
    } finally {
      await renewed;
    }
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
      const parsed = bodyOf(request.event);
      const requestId = stringField(parsed, 'requestId');
      // A refused send names its message, as the sequencer's refusals do.
      const clientMessageId = stringField(parsed, 'clientMessageId');
      const frame = {
        type: 'error',
        code: err.code,
        message,
        ...(err.status < 500 ? err.details : {}),
        ...(requestId ? { requestId } : {}),
        ...(clientMessageId ? { clientMessageId } : {}),
      };
      if (options.oneWay) {
        await pushToConnections([request.event.requestContext.connectionId], frame);
        request.response = { statusCode: 200 };
      } else {
        request.response = { statusCode: 200, body: JSON.stringify(frame) };
      }
    });
}
