import { connectionsApi } from '../adapters/connections-api.js';
import {
  deleteConnection,
  listEndedConnections,
  listUserConnections,
  type NewConnection,
  type SaveConnectionResult,
  saveConnection,
} from '../data/connections-repo.js';
import { logger } from '../logger.js';
import { closeConnection, pushToConnections } from './push.js';

/** Connections a sweep ends at once: enough to hide `@connections` latency, few enough for its limits. */
const SWEEP_CONCURRENCY = 16;

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
      if (!(await connectionsApi().isGone(c.connectionId))) return false;
      await deleteConnection(c.connectionId);
      return true;
    }),
  );
  return gone.some(Boolean) ? saveConnection(record) : first;
}

export interface SweepReport {
  /** Connections read from the `expiring` index. */
  found: number;
  /** Connections sent `sessionEnded` (`token_expired`) and closed. */
  expired: number;
  /** Connections past the two-hour limit, closed without a frame (API Gateway normally did it already). */
  overLifetime: number;
  /** Connections whose close failed; they stay recorded and the next sweep tries again. */
  failed: number;
}

/** Connections read from each shard of the `expiring` index per round of a sweep. */
const SWEEP_PAGE = 250;

/**
 * Ends the sessions that ended by time (docs/sessions.md): every connection whose token expired gets
 * `sessionEnded` with `token_expired` and is closed through `@connections` DELETE; a connection past
 * the two-hour limit is closed without a frame. Closed connections leave the table, so a sweep reads
 * round after round until a round finds fewer than a full page, or until `deadlineMs` (epoch ms; the
 * function's timeout must not cut a round). Run every minute by a schedule, so an idle socket
 * outlives its token by at most about a minute on AWS.
 */
export async function sweepEndedSessions(
  now = Math.floor(Date.now() / 1000),
  deadlineMs = Date.now() + 40_000,
): Promise<SweepReport> {
  const report: SweepReport = { found: 0, expired: 0, overLifetime: 0, failed: 0 };
  for (;;) {
    const ended = await listEndedConnections(now, { limit: SWEEP_PAGE });
    report.found += ended.length;
    let next = 0;
    const worker = async () => {
      while (next < ended.length) {
        const c = ended[next++] as (typeof ended)[number];
        try {
          if (c.tokenExpiresAt !== undefined && c.tokenExpiresAt <= now) {
            await pushToConnections([c.connectionId], { type: 'sessionEnded', reason: 'token_expired' });
            await closeConnection(c.connectionId);
            report.expired++;
          } else {
            await closeConnection(c.connectionId);
            report.overLifetime++;
          }
        } catch (error) {
          report.failed++;
          logger.warn('closing an ended session failed', {
            connectionId: c.connectionId,
            error: error as Error,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SWEEP_CONCURRENCY, ended.length) }, worker));
    // A full page may have more behind it; failed closes stay in the index, hence the deadline.
    const full = ended.length >= SWEEP_PAGE;
    if (!full || Date.now() > deadlineMs) return report;
  }
}
