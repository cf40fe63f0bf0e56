import { SQSClient } from '@aws-sdk/client-sqs';

let client: SQSClient | undefined;

/**
 * One SQS client per process. The endpoint comes from the standard SDK configuration
 * (`AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL`), as for DynamoDB.
 */
export function sqsClient(): SQSClient {
  client ??= new SQSClient({});
  return client;
}
