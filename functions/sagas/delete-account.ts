import * as steps from '#shared/sagas/delete-account-steps.js';
import { sagaHandler } from '#shared/sagas/dispatch.js';

/** Every step of the DeleteAccount state machine. */
export const handler = sagaHandler({
  markDeleting: steps.markDeleting,
  removeFriendships: steps.removeFriendships,
  cancelRequests: steps.cancelRequests,
  leaveConversations: steps.leaveConversations,
  closeConnections: steps.closeConnections,
  removeSearchDocuments: steps.removeSearchDocuments,
  freeUsername: steps.freeUsername,
  tombstone: steps.tombstone,
  complete: steps.complete,
  recordFailure: steps.recordFailure,
});
