import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { config } from '../config/env.js';

/**
 * How long one push may take. A push to a client that stopped reading must not hold up a send or a
 * fan-out: API Gateway answers at once (it buffers), so a slow answer means trouble, and the client
 * catches up with `sync` anyway.
 */
export const PUSH_TIMEOUT_MS = 2_000;

let client: ApiGatewayManagementApiClient | undefined;

/** The `@connections` client for the WebSocket API's callback URL, created once per process. */
export function connectionsClient(): ApiGatewayManagementApiClient {
  client ??= new ApiGatewayManagementApiClient({
    endpoint: config().wsCallbackUrl,
    // One retry: a push is at-least-once already, and a second slow attempt would double the wait.
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 1_000,
      requestTimeout: PUSH_TIMEOUT_MS,
      httpAgent: { maxSockets: 128, keepAlive: true },
      httpsAgent: { maxSockets: 128, keepAlive: true },
    }),
  });
  return client;
}
