import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { saveConnection } from '#shared/data/connections-repo.js';
import { logger } from '#shared/logger.js';
import type { WsEvent } from '#shared/ws/handler.js';

/** Records the authenticated connection; the authorizer already refused bad tokens with 401. */
export const handler = async (event: WsEvent): Promise<APIGatewayProxyResultV2> => {
  const userId = event.requestContext.authorizer?.userId;
  if (!userId) return { statusCode: 401 };
  const connectionId = event.requestContext.connectionId;
  const connectedAt = new Date(event.requestContext.connectedAt ?? Date.now()).toISOString();
  try {
    await saveConnection({ connectionId, userId, connectedAt });
  } catch (error) {
    logger.error('connect failed', { connectionId, error: error as Error });
    return { statusCode: 503 };
  }
  return { statusCode: 200 };
};
