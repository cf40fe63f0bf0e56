import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { indexStreamEvent } from '#shared/search/indexer.js';

/**
 * DynamoDB Streams of the users and messages tables -> OpenSearch, one bulk request per batch.
 * Partial failures are reported (ReportBatchItemFailures); an unreachable domain throws for a retry.
 */
export const handler = (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> =>
  indexStreamEvent(event);
