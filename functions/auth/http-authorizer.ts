import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { authorizeToken } from '#shared/auth/authorize.js';
import { bearerToken } from '#shared/auth/tokens.js';
import type { AuthorizerContext } from '#shared/http/request.js';
import { logger } from '#shared/logger.js';

/**
 * HTTP API authorizer. It always lets the request through with its verdict in the context: HTTP APIs
 * cannot shape their own 401/403 bodies, so the route's middleware turns a missing `userId` into the
 * contract's 401. Routes without this authorizer are the public ones.
 */
export const handler = async (
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> => {
  try {
    const verdict = await authorizeToken(bearerToken(event.headers?.authorization));
    return {
      isAuthorized: true,
      context: verdict.ok
        ? {
            userId: verdict.userId,
            accountStatus: verdict.status,
            tokenId: verdict.tokenId,
            tokenVersion: verdict.tokenVersion,
            tokenExpiresAt: verdict.expiresAt,
          }
        : { denyReason: verdict.reason },
    };
  } catch (error) {
    // The user table did not answer: the route answers 503, not a misleading 401.
    logger.warn('authorizer could not check the account', { error: error as Error });
    return { isAuthorized: true, context: { denyReason: 'Service unavailable', unavailable: true } };
  }
};
