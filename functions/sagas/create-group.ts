import * as steps from '#shared/sagas/create-group-steps.js';
import { sagaHandler } from '#shared/sagas/dispatch.js';

/** Every step and compensation of the CreateGroup state machine. */
export const handler = sagaHandler({
  createConversation: steps.createConversation,
  addChunk: steps.addChunk,
  activate: steps.activate,
  notify: steps.notify,
  complete: steps.complete,
  failGroup: steps.failGroup,
  removeMembers: steps.removeMembers,
  markCompensated: steps.markCompensated,
  recordFailure: steps.recordFailure,
});
