import { createHash, randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { sqsClient } from '../clients/sqs.js';
import { config } from '../config/env.js';

/** One accepted send waiting for the conversation's sequencer. */
export const queuedSendSchema = z.object({
  /** The API request that enqueued it (API Gateway's request id): the same attempt is never queued twice. */
  attemptId: z.string().min(1).max(128),
  conversationId: z.string().min(1),
  senderId: z.string().min(1),
  clientMessageId: z.string().min(1),
  text: z.string(),
  /** The message this one answers (checked to exist when the send was accepted). */
  replyTo: z.object({ seq: z.number().int().min(1) }).optional(),
  messageId: z.string().min(1),
  /** Epoch ms when the request was enqueued. */
  enqueuedAt: z.number(),
  /** Set for WebSocket sends: where the ack (or error) goes, and the frame's own order. */
  origin: z
    .object({
      connectionId: z.string().min(1),
      requestId: z.string().optional(),
      /** When API Gateway received the frame (`requestTimeEpoch`, ms). */
      frameTime: z.number(),
      /** The client declared every earlier send of this connection to this conversation answered. */
      previousAcked: z.boolean().optional(),
    })
    .optional(),
});
export type QueuedSend = z.infer<typeof queuedSendSchema>;

/**
 * A wake-up for a conversation's sequencer, queued behind the sends in its message group while the
 * sequencer holds sends in its reorder window (nothing else would deliver that group again).
 */
export const flushMarkerSchema = z.object({ flush: z.literal(true), conversationId: z.string().min(1) });
export type FlushMarker = z.infer<typeof flushMarkerSchema>;

/** A send the sequencer holds, with the time the queue received it (SQS `SentTimestamp`, epoch ms). */
export interface HeldSend {
  send: QueuedSend;
  sentAt: number;
}

/**
 * SQS FIFO deduplication id (at most 128 characters): the sender, the client message id and the API
 * attempt. A retry of the same attempt (SDK or Lambda) is dropped by SQS within its 5-minute window;
 * a client's own retry is a new attempt, reaches the sequencer and is answered from the guard with the
 * stored copy, so no retry ever goes unanswered.
 */
export function deduplicationId(
  send: Pick<QueuedSend, 'senderId' | 'clientMessageId' | 'attemptId'>,
): string {
  return createHash('sha256')
    .update(`${send.senderId}\u0000${send.clientMessageId}\u0000${send.attemptId}`)
    .digest('hex');
}

interface Deps {
  client?: SQSClient;
  queueUrl?: string;
}

/**
 * Puts a send on the FIFO queue; the message group is the conversation, so each conversation has one
 * ordered writer. Throws on SQS errors (the caller maps them to 503; nothing was stored).
 */
export async function enqueueSend(send: QueuedSend, deps: Deps = {}): Promise<void> {
  const queueUrl = deps.queueUrl ?? config().messageQueueUrl;
  await (deps.client ?? sqsClient()).send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(send),
      MessageGroupId: send.conversationId,
      MessageDeduplicationId: deduplicationId(send),
    }),
  );
}

/** Queues a flush marker in the conversation's message group (a fresh deduplication id each time). */
export async function enqueueFlush(conversationId: string, deps: Deps = {}): Promise<void> {
  const queueUrl = deps.queueUrl ?? config().messageQueueUrl;
  const marker: FlushMarker = { flush: true, conversationId };
  await (deps.client ?? sqsClient()).send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(marker),
      MessageGroupId: conversationId,
      MessageDeduplicationId: `flush-${randomUUID()}`,
    }),
  );
}

/**
 * Opens the queue's connection during a function's init, so that a container's first send does not pay
 * for it; a burst's first frames would otherwise reach the queue after the frames behind them. Errors
 * are left for the first real send to report.
 */
export async function warmSendQueue(deps: Deps = {}): Promise<void> {
  let queueUrl: string;
  try {
    queueUrl = deps.queueUrl ?? config().messageQueueUrl;
  } catch {
    return; // left for the first real send to report
  }
  await (deps.client ?? sqsClient())
    .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
    .catch(() => undefined);
}
