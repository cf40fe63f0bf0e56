import { getOperationFor } from '#shared/domain/operations.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** GET /operations/{operationId}: only the user who started it sees it. */
export const handler = httpRoute({ allowClosingAccount: true }, async (req) =>
  json(200, await getOperationFor(req.userId, validate(id, req.params.operationId, 'operationId'))),
);
