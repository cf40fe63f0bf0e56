import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { config } from '../config/env.js';
import { traced } from '../tracing.js';

/**
 * How long one push may take. A push to a client that stopped reading must not hold up a send or a
 * fan-out: API Gateway answers at once (it buffers), so a slow answer means trouble, and the client
 * catches up with `sync` anyway.
 */
export const PUSH_TIMEOUT_MS = 2_000;

let client: ApiGatewayManagementApiClient | undefined;

/** The `@connections` client for the WebSocket API's callback URL, created once per process. */
export function connectionsClient(): ApiGatewayManagementApiClient {
  client ??= traced(
    new ApiGatewayManagementApiClient({
      endpoint: config().wsCallbackUrl,
      // No retry: a refused or slow push (a full client buffer) would only wait again; pushes are best
      // effort and clients catch up with `sync`.
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 1_000,
        requestTimeout: PUSH_TIMEOUT_MS,
        httpAgent: { maxSockets: 128, keepAlive: true },
        httpsAgent: { maxSockets: 128, keepAlive: true },
      }),
    }),
  );
  return client;
}
