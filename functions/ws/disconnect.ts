import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { deleteConnection } from '#shared/data/connections-repo.js';
import { presenceChanged } from '#shared/domain/presence.js';
import { logger } from '#shared/logger.js';
import type { WsEvent } from '#shared/ws/handler.js';

/**
 * Forgets the connection and reconciles presence (the last connection closing takes the user offline).
 * If this fails, the TTL, the presence lease and the GoneException path clean up later.
 */
export const handler = async (event: WsEvent): Promise<APIGatewayProxyResultV2> => {
  try {
    const closed = await deleteConnection(event.requestContext.connectionId);
    // A connection the server closed (logout, expiry, account deletion) was forgotten before this
    // ran: its user comes from the authorizer's context then.
    const userId = closed?.userId ?? event.requestContext.authorizer?.userId;
    if (userId) await presenceChanged(userId, new Date().toISOString());
  } catch (error) {
    logger.warn('disconnect cleanup failed', { error: error as Error });
  }
  return { statusCode: 200 };
};
