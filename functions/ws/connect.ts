import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { presenceChanged } from '#shared/domain/presence.js';
import { openConnection } from '#shared/domain/sessions.js';
import { limitConnects } from '#shared/domain/spam-limits.js';
import { ThrottledError } from '#shared/errors.js';
import { errorResponse } from '#shared/http/response.js';
import { logger } from '#shared/logger.js';
import type { WsEvent } from '#shared/ws/handler.js';

/**
 * Records the authenticated connection; the authorizer already refused bad tokens with 401. A user
 * connecting faster than the per-user connect limit, or at the per-user connection cap, is refused with
 * 429 (the upgrade fails; docs/sessions.md). Presence is reconciled once the connection is recorded.
 */
/** The retry hint of a refusal at the connection cap: a place frees when one of the user's sockets closes. */
const CAP_RETRY_AFTER_MS = 1_000;

export const handler = async (event: WsEvent): Promise<APIGatewayProxyResultV2> => {
  const auth = event.requestContext.authorizer;
  const userId = auth?.userId;
  if (!userId) return { statusCode: 401 };
  const connectionId = event.requestContext.connectionId;
  const connectedAt = new Date(event.requestContext.connectedAt ?? Date.now()).toISOString();
  const tokenExpiresAt = Number(auth.tokenExpiresAt);
  try {
    // First, before any write: a loop of connects is refused here for at most one small write.
    await limitConnects(userId);
    const saved = await openConnection({
      connectionId,
      userId,
      connectedAt,
      tokenId: auth.tokenId === undefined ? undefined : String(auth.tokenId),
      expiresAt: Number.isFinite(tokenExpiresAt) && tokenExpiresAt > 0 ? tokenExpiresAt : undefined,
    });
    if (!saved.ok)
      return errorResponse(
        new ThrottledError(
          CAP_RETRY_AFTER_MS,
          'Too many open connections for this user: close one, then connect again',
        ),
        event.requestContext.requestId ?? connectionId,
      );
  } catch (error) {
    if (error instanceof ThrottledError)
      return errorResponse(error, event.requestContext.requestId ?? connectionId);
    logger.warn('connect failed', { connectionId, error: error as Error });
    return { statusCode: 503 };
  }
  // The first open connection brings the user online for their friends (never fails the connect).
  await presenceChanged(userId);
  return { statusCode: 200 };
};
