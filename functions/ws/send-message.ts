import { warmSendQueue } from '#shared/data/send-queue.js';
import { acceptSend } from '#shared/domain/messages.js';
import { requireTextWithinLimit } from '#shared/domain/text-limits.js';
import { sendMessageFrame } from '#shared/protocol/frames.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

// Init phase: the queue connection is ready before the first frame.
await warmSendQueue();

/**
 * `sendMessage`: validated, rate-limited and queued for the conversation's sequencer, which acks this
 * connection after the commit (with the stored copy for a retried clientMessageId) or sends an error.
 */
export const handler = wsRoute(
  async (req) => {
    const input = validate(sendMessageFrame, req.frame, 'frame');
    requireTextWithinLimit(input.text);
    const context = req.event.requestContext;
    await acceptSend({
      me: req.userId,
      conversationId: input.conversationId,
      clientMessageId: input.clientMessageId,
      text: input.text,
      ...(input.replyTo ? { replyTo: input.replyTo } : {}),
      attemptId: context.requestId,
      origin: {
        connectionId: req.connectionId,
        requestId: req.clientRequestId,
        frameTime: context.requestTimeEpoch,
        ...(input.previousAcked ? { previousAcked: true } : {}),
      },
    });
    return undefined;
  },
  { oneWay: true },
);
