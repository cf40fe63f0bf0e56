import { SQSClient } from '@aws-sdk/client-sqs';
import { traced } from '../tracing.js';

let client: SQSClient | undefined;

/**
 * One SQS client per process. The endpoint comes from the standard SDK configuration
 * (`AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL`), as for DynamoDB.
 */
export function sqsClient(): SQSClient {
  client ??= traced(new SQSClient({}));
  return client;
}
