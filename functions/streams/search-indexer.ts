import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { indexStreamEvent } from '#shared/search/indexer.js';

/**
 * DynamoDB Streams of the users and messages tables -> OpenSearch, one bulk request per batch.
 * Partial failures are reported (ReportBatchItemFailures); an unreachable domain is waited for while the
 * invocation has time, then throws for the mapping's retry.
 */
export const handler = (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> =>
  indexStreamEvent(event, { remainingMs: () => context.getRemainingTimeInMillis() });
