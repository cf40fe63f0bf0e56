import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { bearerToken, verifyToken } from '#shared/auth/tokens.js';
import type { AuthorizerContext } from '#shared/http/request.js';

/**
 * HTTP API authorizer. It always lets the request through with its verdict in the context: HTTP APIs
 * cannot shape their own 401/403 bodies, so the route's middleware turns a missing `userId` into the
 * contract's 401. Routes without this authorizer are the public ones.
 */
export const handler = async (
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> => {
  const verdict = await verifyToken(bearerToken(event.headers?.authorization));
  return {
    isAuthorized: true,
    context: verdict.ok ? { userId: verdict.userId } : { denyReason: verdict.reason },
  };
};
