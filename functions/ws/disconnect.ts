import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { deleteConnection } from '#shared/data/connections-repo.js';
import { logger } from '#shared/logger.js';
import type { WsEvent } from '#shared/ws/handler.js';

/** Forgets the connection. If this fails, the TTL and the GoneException path clean up later. */
export const handler = async (event: WsEvent): Promise<APIGatewayProxyResultV2> => {
  try {
    await deleteConnection(event.requestContext.connectionId);
  } catch (error) {
    logger.warn('disconnect cleanup failed', { error: error as Error });
  }
  return { statusCode: 200 };
};
