import { GetConnectionCommand, GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import { connectionsClient } from '../clients/connections.js';
import {
  deleteConnection,
  listUserConnections,
  type NewConnection,
  type SaveConnectionResult,
  saveConnection,
} from '../data/connections-repo.js';
import { logger } from '../logger.js';
import { closeConnection, pushToConnections } from './push.js';

/** Why the server ended a WebSocket session; sent in a `sessionEnded` frame just before it closes. */
export type SessionEndReason = 'token_expired' | 'token_revoked' | 'account_closed';

/**
 * Ends a session from the server side: a last `{"type":"sessionEnded","reason"}` frame, then the
 * connection is closed through `@connections` (docs/sessions.md). Best effort: a connection that is
 * already gone is not an error.
 */
export async function endSession(connectionId: string, reason: SessionEndReason): Promise<void> {
  await pushToConnections([connectionId], { type: 'sessionEnded', reason });
  await closeConnection(connectionId).catch((error) =>
    logger.warn('closing an ended session failed', { connectionId, error: error as Error }),
  );
}

/**
 * Ends every open session of a user, or only those opened with one token (logout), after their
 * tokens were revoked.
 */
export async function endSessionsOf(
  userId: string,
  reason: SessionEndReason,
  onlyTokenId?: string,
): Promise<void> {
  const connections = await listUserConnections(userId);
  const ended = connections.filter((c) => onlyTokenId === undefined || c.tokenId === onlyTokenId);
  await Promise.all(ended.map((c) => endSession(c.connectionId, reason)));
}

/**
 * Records a new connection under the per-user cap. When the user is at the cap, the recorded ones are
 * checked with `@connections` GET first: a connection whose `$disconnect` never ran (a storm, a crash)
 * is gone there, and its place is freed rather than blocking the user until its two-hour TTL.
 */
export async function openConnection(record: NewConnection): Promise<SaveConnectionResult> {
  const first = await saveConnection(record);
  if (first.ok) return first;
  const recorded = await listUserConnections(record.userId);
  const gone = await Promise.all(
    recorded.map(async (c) => {
      try {
        await connectionsClient().send(new GetConnectionCommand({ ConnectionId: c.connectionId }));
        return false;
      } catch (err) {
        if (!(err instanceof GoneException)) return false;
        await deleteConnection(c.connectionId);
        return true;
      }
    }),
  );
  return gone.some(Boolean) ? saveConnection(record) : first;
}
