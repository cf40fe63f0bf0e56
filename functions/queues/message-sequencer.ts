import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { flushMarkerSchema, queuedSendSchema } from '#shared/data/send-queue.js';
import { type ReceivedSend, sequenceSends } from '#shared/domain/sequencer.js';
import { logger } from '#shared/logger.js';
import { emitMetrics } from '#shared/metrics.js';

/**
 * The conversations' ordered writer, fed by the FIFO send queue (message group = conversation): queued
 * sends, and flush markers that wake a conversation whose sends it holds. What could not be processed
 * is reported as batch item failures, so the queue redelivers it in order; everything after it in the
 * same conversation is reported too.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const received: ReceivedSend[] = [];
  const flushes: Array<{ id: string; conversationId: string; sentAt: number }> = [];
  const groupOf = new Map<string, string>();
  for (const record of event.Records) {
    const body = safeJson(record.body);
    const send = queuedSendSchema.safeParse(body);
    const marker = send.success ? undefined : flushMarkerSchema.safeParse(body);
    if (send.success) {
      received.push({
        id: record.messageId,
        send: send.data,
        sentAt: Number(record.attributes.SentTimestamp),
      });
      groupOf.set(record.messageId, send.data.conversationId);
    } else if (marker?.success) {
      flushes.push({
        id: record.messageId,
        conversationId: marker.data.conversationId,
        sentAt: Number(record.attributes.SentTimestamp),
      });
      groupOf.set(record.messageId, marker.data.conversationId);
    } else {
      // Only the API's own ingress writes this queue; anything else is dropped rather than block a conversation.
      logger.error('sequencer: unreadable queue message dropped', { messageId: record.messageId });
    }
  }
  const failed = new Set(await sequenceSends(received, flushes));
  emitMetrics({ SendBatchSize: event.Records.length, SendsSequenced: received.length - failed.size });
  // FIFO: once a message of a conversation failed, its later messages must wait for it.
  const blocked = new Set<string>();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const conversationId = groupOf.get(record.messageId);
    if (conversationId === undefined) continue;
    if (failed.has(record.messageId) || blocked.has(conversationId)) {
      blocked.add(conversationId);
      batchItemFailures.push({ itemIdentifier: record.messageId });
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
