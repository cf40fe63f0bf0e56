import { connectionsApi } from '../adapters/connections-api.js';
import { deleteConnection, listConnectionsOfUsers } from '../data/connections-repo.js';
import { logger } from '../logger.js';
import { emitMetrics } from '../metrics.js';

/** Posts in flight at once per fan-out: enough to hide latency, few enough not to hit API limits. */
export const PUSH_CONCURRENCY = 16;

/**
 * How young a Gone connection may be and still be kept: API Gateway's WebSocket integrations time out
 * after 29 s, so no `$connect` runs longer than 30 s.
 */
export const CONNECT_GRACE_MS = 30_000;

export interface PushResult {
  delivered: number;
  gone: number;
  failed: number;
}

/** One frame for one connection. */
export interface Delivery {
  connectionId: string;
  frame: unknown;
}

/**
 * Posts frames, up to PUSH_CONCURRENCY at once, and publishes one metric line for the lot (not one per
 * post: on AWS each line is a log event). Frames to one connection are not serialized. A gone
 * connection is removed and gets nothing more; a slow or failing one never stops the others. Delivery
 * is at-least-once; clients de-duplicate.
 */
export async function pushFrames(deliveries: readonly Delivery[]): Promise<PushResult> {
  const result: PushResult = { delivered: 0, gone: 0, failed: 0 };
  const gone = new Set<string>();
  const encoded = new Map<unknown, Uint8Array>();
  const encode = (frame: unknown) => {
    const known = encoded.get(frame);
    if (known) return known;
    const data = new TextEncoder().encode(JSON.stringify(frame));
    encoded.set(frame, data);
    return data;
  };
  let next = 0;
  const worker = async () => {
    while (next < deliveries.length) {
      const { connectionId, frame } = deliveries[next++] as Delivery;
      if (gone.has(connectionId)) continue;
      try {
        if ((await connectionsApi().post(connectionId, encode(frame))) === 'delivered') {
          result.delivered++;
          continue;
        }
        result.gone++;
        gone.add(connectionId);
        // A connection still inside its `$connect` is Gone to posts as well: keep one that young,
        // or a push racing a connect (a friend's presence) would forget a connection about to open.
        await deleteConnection(connectionId, {}, { connectedBefore: Date.now() - CONNECT_GRACE_MS }).catch(
          (e) => logger.warn('stale connection cleanup failed', { e }),
        );
      } catch (err) {
        result.failed++;
        logger.warn('push failed', { connectionId, error: err as Error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUSH_CONCURRENCY, deliveries.length) }, worker));
  emitMetrics({
    PushesDelivered: result.delivered,
    GoneConnections: result.gone,
    PushesFailed: result.failed,
  });
  return result;
}

/** Sends one event to many connections (see pushFrames). */
export function pushToConnections(connectionIds: readonly string[], event: unknown): Promise<PushResult> {
  return pushFrames(connectionIds.map((connectionId) => ({ connectionId, frame: event })));
}

/** Sends an event to every open connection of each user, except the excluded connection. */
export async function pushToUsers(userIds: readonly string[], event: unknown, exceptConnectionId?: string) {
  const connections = await listConnectionsOfUsers(userIds);
  const ids = connections.map((c) => c.connectionId).filter((id) => id !== exceptConnectionId);
  return pushToConnections(ids, event);
}

/**
 * Pushes an event after a commit, best effort: a failed push is logged and never fails or undoes the
 * request (clients catch up with `sync` and their lists).
 */
export async function notifyUsers(userIds: readonly string[], event: unknown, exceptConnectionId?: string) {
  await pushToUsers(userIds, event, exceptConnectionId).catch((error) =>
    logger.warn('event push failed', { error: error as Error }),
  );
}

/** Closes a connection from the server side (used when an account goes away). */
export async function closeConnection(connectionId: string): Promise<void> {
  await connectionsApi().close(connectionId);
  await deleteConnection(connectionId);
}
