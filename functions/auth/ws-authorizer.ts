import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authorizeToken } from '#shared/auth/authorize.js';

/**
 * WebSocket `$connect` authorizer on the `token` query parameter. Throwing `Unauthorized` is how a
 * Lambda authorizer makes API Gateway refuse the upgrade with HTTP 401.
 */
export const handler = async (
  event: APIGatewayRequestAuthorizerEvent,
): Promise<APIGatewayAuthorizerResult> => {
  const verdict = await authorizeToken(event.queryStringParameters?.token);
  if (!verdict.ok || verdict.status !== 'active') throw new Error('Unauthorized');
  return {
    principalId: verdict.userId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
    },
    // What every frame re-checks (shared/ws/session.ts) travels with the connection.
    context: {
      userId: verdict.userId,
      tokenId: verdict.tokenId,
      tokenVersion: verdict.tokenVersion,
      tokenExpiresAt: verdict.expiresAt,
    },
  };
};
