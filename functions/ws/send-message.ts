import { z } from 'zod';
import { fanOutMessage, sendMessage } from '#shared/domain/messages.js';
import { clientMessageId, id, messageText } from '#shared/domain/schemas.js';
import { requireTextWithinLimit } from '#shared/domain/text-limits.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

const frame = z.object({ conversationId: id, clientMessageId, text: messageText });

/**
 * `sendMessage`: commit, acknowledge the sender at once, then fan out; a slow or gone member
 * connection never delays the ack.
 */
export const handler = wsRoute(
  async (req) => {
    const input = validate(frame, req.frame, 'frame');
    requireTextWithinLimit(input.text);
    const outcome = await sendMessage(
      req.userId,
      input.conversationId,
      input.clientMessageId,
      input.text,
      req.connectionId,
    );
    await req.reply({ type: 'ack', clientMessageId: input.clientMessageId, message: outcome.message });
    await fanOutMessage(outcome, req.connectionId);
    return undefined;
  },
  { oneWay: true },
);
