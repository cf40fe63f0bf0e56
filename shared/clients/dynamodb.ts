import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { traced } from '../tracing.js';

/**
 * Sockets per process (per function container). A Lambda container serves one request at a time and never
 * comes near it; the local runtime runs all invocations of a function in one worker thread, so a storm of
 * one function (thousands of `$disconnect` invocations) queues for these sockets instead of opening
 * thousands of connections to the engine.
 */
const MAX_SOCKETS = 256;

/**
 * One document client per process. The endpoint comes from the standard SDK configuration
 * (`AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`), so the same build runs on AWS, LocalStack and
 * the local runtime. A request that gets no connection within 2 s or no answer within 8 s fails (and
 * the SDK retries it), instead of hanging until the function's own timeout.
 */
export const ddb = DynamoDBDocumentClient.from(
  traced(
    new DynamoDBClient({
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 2_000,
        requestTimeout: 8_000,
        httpAgent: { maxSockets: MAX_SOCKETS, keepAlive: true },
        httpsAgent: { maxSockets: MAX_SOCKETS, keepAlive: true },
      }),
    }),
  ),
  { marshallOptions: { removeUndefinedValues: true } },
);
export type DocClient = typeof ddb;
