import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One document client per process. The endpoint comes from the standard SDK configuration
 * (`AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`), so the same build runs on AWS, LocalStack and
 * the local runtime.
 */
export const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
export type DocClient = typeof ddb;
