import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { queuedSendSchema } from '#shared/data/send-queue.js';
import { type ReceivedSend, sequenceSends } from '#shared/domain/sequencer.js';
import { logger } from '#shared/logger.js';

/**
 * The conversations' ordered writer, fed by the FIFO send queue (message group = conversation). Sends
 * that could not be committed are reported as batch item failures, so the queue redelivers them in
 * order; everything after them in the same conversation is reported too.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const received: ReceivedSend[] = [];
  for (const record of event.Records) {
    const parsed = queuedSendSchema.safeParse(safeJson(record.body));
    // Only the API's own ingress writes this queue; anything else is dropped rather than block a conversation.
    if (!parsed.success)
      logger.error('sequencer: unreadable queued send dropped', { messageId: record.messageId });
    else received.push({ id: record.messageId, send: parsed.data });
  }
  const failed = new Set(await sequenceSends(received));
  // FIFO: once a send of a conversation failed, its later sends must wait for it.
  const blocked = new Set<string>();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const r of received) {
    if (failed.has(r.id) || blocked.has(r.send.conversationId)) {
      blocked.add(r.send.conversationId);
      batchItemFailures.push({ itemIdentifier: r.id });
    }
  }
  return { batchItemFailures };
};

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
