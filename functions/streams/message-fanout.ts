import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { MessageItem } from '#shared/data/messages-repo.js';
import { fanOutFromStream } from '#shared/domain/messages.js';
import { logger } from '#shared/logger.js';

/**
 * Pushes new messages of large conversations (the event source mapping filters on `fanout = stream`).
 * Delivery is best effort and at least once: a failed push is logged, never retried into a storm.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<void> => {
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== 'INSERT' || !image) continue;
    const item = unmarshall(image as Record<string, AttributeValue>) as MessageItem;
    await fanOutFromStream(item).catch((error) =>
      logger.warn('stream fan-out failed', {
        conversationId: item.conversationId,
        seq: item.seq,
        error: error as Error,
      }),
    );
  }
};
