import { warmSendQueue } from '#shared/data/send-queue.js';
import { sendAndWait } from '#shared/domain/messages.js';
import { requireTextWithinLimit } from '#shared/domain/text-limits.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id, sendMessageBody } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

// Init phase: the queue connection is ready before the first frame.
await warmSendQueue();

/**
 * POST /conversations/{conversationId}/messages: queued for the conversation's sequencer, answered once
 * committed: 201, or 200 with the stored copy on a retry.
 */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  const { clientMessageId, text, replyTo } = validate(sendMessageBody, req.body);
  requireTextWithinLimit(text);
  const outcome = await sendAndWait({
    me: req.userId,
    conversationId,
    clientMessageId,
    text,
    ...(replyTo ? { replyTo } : {}),
    attemptId: req.requestId,
  });
  return json(outcome.duplicate ? 200 : 201, outcome.message);
});
