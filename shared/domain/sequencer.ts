import { listConnectionsOfUsers } from '../data/connections-repo.js';
import { type ConversationItem, getConversation } from '../data/conversations-repo.js';
import {
  appendBatch,
  type ConversationSnapshot,
  getMessage,
  guardKey,
  type MessageItem,
  type PendingMessage,
  planTransactions,
  recordRejection,
} from '../data/messages-repo.js';
import type { QueuedSend } from '../data/send-queue.js';
import { logger } from '../logger.js';
import { RetryableError, type RetryPolicy, withRetry } from '../retry.js';
import { INLINE_FANOUT_MAX_MEMBERS, memberIdsOf, rejectionError, toMessage } from './messages.js';
import { PUSH_CONCURRENCY, pushToConnections } from './push.js';

/** One queued send with the queue's id for it (the SQS message id, reported back on failure). */
export interface ReceivedSend {
  readonly id: string;
  readonly send: QueuedSend;
}

/** Retries of one conversation's commit: lost races and throttling clear in milliseconds. */
export const SEQUENCE_RETRY: RetryPolicy = {
  attempts: 12,
  baseDelayMs: 5,
  maxDelayMs: 500,
  maxElapsedMs: 15_000,
};

/** Process-wide counters, read by the benchmarks. */
export const sequencerCounters = { transactions: 0, messages: 0, staleRetries: 0, consumedCapacity: 0 };

/**
 * Warm-container cache of conversation snapshots. Only a hint: a batch commits on condition that the
 * counter, membership version and status are still the snapshot's, and a stale one is refreshed from
 * the failed condition's old image. The member list is reloaded only when the version moved.
 */
const snapshots = new Map<string, ConversationSnapshot & { status: ConversationItem['status'] }>();
const SNAPSHOT_CACHE_MAX = 1000;
type Snapshot = ConversationSnapshot & { status: ConversationItem['status'] };

async function snapshotOf(c: ConversationItem, previous?: Snapshot): Promise<Snapshot> {
  const memberIds = previous && previous.version === c.version ? previous.memberIds : await memberIdsOf(c);
  const snapshot = {
    conversationId: c.conversationId,
    lastSeq: c.lastSeq,
    version: c.version,
    type: c.type,
    memberCount: c.memberCount,
    memberIds,
    status: c.status,
  };
  remember(snapshot);
  return snapshot;
}

function remember(s: Snapshot): void {
  if (snapshots.size >= SNAPSHOT_CACHE_MAX && !snapshots.has(s.conversationId)) {
    snapshots.delete(snapshots.keys().next().value as string);
  }
  snapshots.set(s.conversationId, s);
}

async function load(conversationId: string): Promise<Snapshot | undefined> {
  const c = await getConversation(conversationId);
  return c ? snapshotOf(c) : undefined;
}

/**
 * Within one conversation's batch, each connection's sends take the order its frames arrived in, in
 * the slots the queue gave them; the queue's own order stands between connections. It only matters
 * when two frames of one connection overtook each other on the way to the queue.
 */
export function orderByConnection(sends: readonly ReceivedSend[]): ReceivedSend[] {
  const byConnection = new Map<string, ReceivedSend[]>();
  for (const s of sends) {
    const c = s.send.origin?.connectionId;
    if (c) byConnection.set(c, [...(byConnection.get(c) ?? []), s]);
  }
  for (const list of byConnection.values()) {
    list.sort((a, b) => (a.send.origin?.frameTime ?? 0) - (b.send.origin?.frameTime ?? 0));
  }
  const cursor = new Map<string, number>();
  return sends.map((s) => {
    const c = s.send.origin?.connectionId;
    if (!c) return s;
    const i = cursor.get(c) ?? 0;
    cursor.set(c, i + 1);
    return (byConnection.get(c) as ReceivedSend[])[i] as ReceivedSend;
  });
}

/** What became of each send of a conversation's batch. */
interface Outcomes {
  stored: Array<{ r: ReceivedSend; item: MessageItem }>;
  /** Stored by an earlier attempt (or earlier in this batch), at this seq. */
  duplicates: Array<{ r: ReceivedSend; seq: number }>;
  rejected: Array<{ r: ReceivedSend; code: string }>;
  /** Not decided: redelivered by the queue. */
  failed: ReceivedSend[];
}

/**
 * The sequencer: commits a batch of queued sends, one conversation (message group) at a time, in queue
 * order, each conversation's messages in as few transactions as the limits allow (group commit). Then
 * acknowledges each sending connection and fans the messages out. Returns the ids of sends that must be
 * redelivered (a dependency failed; the queue keeps their order).
 */
export async function sequenceSends(received: readonly ReceivedSend[]): Promise<string[]> {
  const groups = new Map<string, ReceivedSend[]>();
  for (const r of received)
    groups.set(r.send.conversationId, [...(groups.get(r.send.conversationId) ?? []), r]);
  const failed = await Promise.all(
    [...groups].map(async ([conversationId, sends]) => {
      const outcomes = await commitConversation(conversationId, sends);
      await answer(conversationId, outcomes);
      return outcomes.failed.map((r) => r.id);
    }),
  );
  return failed.flat();
}

async function commitConversation(conversationId: string, sends: readonly ReceivedSend[]): Promise<Outcomes> {
  const out: Outcomes = { stored: [], duplicates: [], rejected: [], failed: [] };
  // A client message id sent twice in one batch is stored once; the later attempts get the stored copy.
  const firstOf = new Map<string, ReceivedSend>();
  const repeats: Array<{ r: ReceivedSend; of: ReceivedSend }> = [];
  let pending: ReceivedSend[] = [];
  for (const r of orderByConnection(sends)) {
    const key = guardKey(r.send.senderId, r.send.clientMessageId);
    const first = firstOf.get(key);
    if (first) repeats.push({ r, of: first });
    else {
      firstOf.set(key, r);
      pending.push(r);
    }
  }
  const refuse = (who: (r: ReceivedSend) => boolean, code: string) => {
    for (const r of pending.filter(who)) out.rejected.push({ r, code });
    pending = pending.filter((r) => !who(r));
  };
  try {
    let snapshot = snapshots.get(conversationId) ?? (await load(conversationId));
    await withRetry(async () => {
      while (pending.length > 0) {
        if (!snapshot) return refuse(() => true, 'not_found');
        if (snapshot.status !== 'active') return refuse(() => true, 'forbidden');
        const current = snapshot;
        const createdAt = new Date().toISOString();
        const fanout = current.memberCount > INLINE_FANOUT_MAX_MEMBERS ? ('stream' as const) : undefined;
        const messages: PendingMessage[] = pending.map(({ send }, i) => ({
          attemptId: send.attemptId,
          item: {
            conversationId,
            seq: current.lastSeq + 1 + i,
            messageId: send.messageId,
            senderId: send.senderId,
            clientMessageId: send.clientMessageId,
            text: send.text,
            createdAt,
            version: 1,
            ...(fanout
              ? { fanout, ...(send.origin ? { originConnectionId: send.origin.connectionId } : {}) }
              : {}),
          },
        }));
        const chunk = planTransactions(messages, current.type === 'direct')[0] as PendingMessage[];
        const peerOf = (senderId: string) =>
          current.type === 'direct' ? current.memberIds.find((id) => id !== senderId) : undefined;
        sequencerCounters.transactions++;
        const result = await appendBatch(current, chunk, peerOf);
        if (result.ok) {
          sequencerCounters.messages += chunk.length;
          sequencerCounters.consumedCapacity += result.consumedCapacity;
          for (const [i, m] of chunk.entries())
            out.stored.push({ r: pending[i] as ReceivedSend, item: m.item });
          pending = pending.slice(chunk.length);
          snapshot = { ...current, lastSeq: current.lastSeq + chunk.length };
          remember(snapshot);
          continue;
        }
        const duplicateOf = new Map([...result.duplicates].map(([i, seq]) => [pending[i], seq]));
        for (const [r, seq] of duplicateOf) if (r) out.duplicates.push({ r, seq });
        pending = pending.filter((r) => !duplicateOf.has(r));
        refuse((r) => result.notMembers.has(r.send.senderId), 'not_a_member');
        refuse((r) => result.notFriends.has(r.send.senderId), 'not_friends');
        if (result.stale) {
          sequencerCounters.staleRetries++;
          snapshots.delete(conversationId);
          const now = result.stale.current;
          snapshot = now ? await snapshotOf(now, current) : await load(conversationId);
          // The snapshot is fresh: retry at once, but within the retry bound.
          throw new RetryableError('conversation changed under the batch', { fresh: true });
        }
      }
    }, SEQUENCE_RETRY);
  } catch (err) {
    logger.warn('sequencer: conversation batch not committed; the queue redelivers it', {
      conversationId,
      error: err as Error,
    });
    out.failed.push(...pending);
    pending = [];
  }
  // Later attempts of one client message id follow the first: stored, refused or redelivered alike.
  for (const { r, of } of repeats) {
    const stored = out.stored.find((s) => s.r === of);
    const dup = out.duplicates.find((d) => d.r === of);
    const refused = out.rejected.find((x) => x.r === of);
    if (stored) out.duplicates.push({ r, seq: stored.item.seq });
    else if (dup) out.duplicates.push({ r, seq: dup.seq });
    else if (refused) out.rejected.push({ r, code: refused.code });
    else out.failed.push(r);
  }
  return out;
}

/**
 * After the commit: refusals are recorded (a waiting HTTP request reads them), each sending connection
 * gets its ack or error, then members get the messages. Duplicates are
 * fanned out again, so a crash between commit and fan-out is repaired by the queue's redelivery.
 */
async function answer(conversationId: string, out: Outcomes): Promise<void> {
  const refusals = await Promise.allSettled(
    out.rejected.map(({ r, code }) =>
      recordRejection(conversationId, r.send.senderId, r.send.clientMessageId, r.send.attemptId, code),
    ),
  );
  refusals.forEach((res, i) => {
    const entry = out.rejected[i];
    if (res.status === 'rejected' && entry) out.failed.push(entry.r);
  });
  const duplicates = await Promise.all(
    out.duplicates.map(async ({ r, seq }) => ({ r, item: await getMessage(conversationId, seq) })),
  );
  const acked = [
    ...out.stored,
    ...duplicates.filter((d): d is { r: ReceivedSend; item: MessageItem } => d.item !== undefined),
  ];
  const replies: Array<{ connectionId: string; frame: Record<string, unknown> }> = [];
  for (const { r, item } of acked) {
    const o = r.send.origin;
    if (!o) continue;
    const frame = { type: 'ack', clientMessageId: item.clientMessageId, message: toMessage(item) };
    replies.push({
      connectionId: o.connectionId,
      frame: o.requestId ? { ...frame, requestId: o.requestId } : frame,
    });
  }
  for (const { r, code } of out.rejected) {
    const o = r.send.origin;
    if (!o || out.failed.includes(r)) continue;
    const err = rejectionError(code);
    const frame = {
      type: 'error',
      code: err.code,
      message: err.message,
      clientMessageId: r.send.clientMessageId,
    };
    replies.push({
      connectionId: o.connectionId,
      frame: o.requestId ? { ...frame, requestId: o.requestId } : frame,
    });
  }
  await pushAll(replies);
  const deliveries = acked
    .map(({ r, item }) => ({ item, origin: r.send.origin?.connectionId }))
    .sort((a, b) => a.item.seq - b.item.seq);
  await fanOut(conversationId, deliveries);
}

/** Pushes each message to the members' connections but the one that sent it (which got the ack). */
async function fanOut(
  conversationId: string,
  items: ReadonlyArray<{ item: MessageItem; origin: string | undefined }>,
): Promise<void> {
  const snapshot = snapshots.get(conversationId);
  if (items.length === 0 || !snapshot || snapshot.memberCount > INLINE_FANOUT_MAX_MEMBERS) return;
  try {
    const connections = await listConnectionsOfUsers(snapshot.memberIds);
    const deliveries: Array<{ connectionId: string; frame: Record<string, unknown> }> = [];
    for (const { item, origin } of items) {
      for (const c of connections) {
        if (c.connectionId === origin) continue;
        deliveries.push({
          connectionId: c.connectionId,
          frame: { type: 'message', message: toMessage(item) },
        });
      }
    }
    await pushAll(deliveries);
  } catch (error) {
    // Best effort: members fill gaps with sync.
    logger.warn('fan-out failed', { conversationId, error: error as Error });
  }
}

/**
 * Posts frames, up to PUSH_CONCURRENCY at once. Frames to one connection are not serialized: waiting
 * for each post would hold the conversation's queue for one round trip per message and member; events
 * of one batch may therefore reach a member out of seq order, which clients already handle (they
 * order and de-duplicate by seq, guarantee 6). A connection found gone gets nothing more.
 */
async function pushAll(frames: ReadonlyArray<{ connectionId: string; frame: Record<string, unknown> }>) {
  const gone = new Set<string>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < frames.length; i = next++) {
      const { connectionId, frame } = frames[i] as (typeof frames)[number];
      if (gone.has(connectionId)) continue;
      if ((await pushToConnections([connectionId], frame)).gone) gone.add(connectionId);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUSH_CONCURRENCY, frames.length) }, worker));
}
