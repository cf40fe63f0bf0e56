import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { config } from '../config/env.js';

let client: ApiGatewayManagementApiClient | undefined;

/** The `@connections` client for the WebSocket API's callback URL, created once per process. */
export function connectionsClient(): ApiGatewayManagementApiClient {
  client ??= new ApiGatewayManagementApiClient({ endpoint: config().wsCallbackUrl });
  return client;
}
