import { editMessage } from '#shared/domain/message-changes.js';
import { limitSends } from '#shared/domain/rate-limits.js';
import { requireTextWithinLimit } from '#shared/domain/text-limits.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { editMessageBody, id, seqParam } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** PATCH /conversations/{conversationId}/messages/{seq} `{text}`: the sender edits; 200 `Message`. */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  const seq = validate(seqParam, req.params.seq, 'seq');
  const { text } = validate(editMessageBody, req.body);
  requireTextWithinLimit(text);
  await limitSends(req.userId);
  return json(200, await editMessage({ me: req.userId, conversationId, seq }, text));
});
