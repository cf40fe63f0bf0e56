import { config } from '../config/env.js';
import { listConnectionsOfUsers } from '../data/connections-repo.js';
import { type ConversationItem, getConversation } from '../data/conversations-repo.js';
import {
  appendBatch,
  type ConversationSnapshot,
  getMessage,
  guardKey,
  listConversationsWithHeldSends,
  type MessageItem,
  type PendingMessage,
  planTransactions,
  recordRejection,
  saveHeld,
  sequencerStateOf,
} from '../data/messages-repo.js';
import { enqueueFlush, type HeldSend } from '../data/send-queue.js';
import { logger } from '../logger.js';
import { RetryableError, type RetryPolicy, withRetry } from '../retry.js';
import { INLINE_FANOUT_MAX_MEMBERS, memberIdsOf, rejectionError, toMessage } from './messages.js';
import { type Delivery, pushFrames } from './push.js';
import {
  fromHeld,
  msUntilRelease,
  OrderWindow,
  planRelease,
  type ReceivedSend,
  releaseCutoff,
  toHeld,
} from './send-order.js';

export type { ReceivedSend } from './send-order.js';

/** Retries of one conversation's commit: lost races and throttling clear in milliseconds. */
export const SEQUENCE_RETRY: RetryPolicy = {
  attempts: 12,
  baseDelayMs: 5,
  maxDelayMs: 500,
  maxElapsedMs: 15_000,
};

/** Process-wide counters, read by the benchmarks. */
export const sequencerCounters = {
  transactions: 0,
  messages: 0,
  staleRetries: 0,
  consumedCapacity: 0,
  /** Flush markers queued to wake a conversation whose sends are held. */
  flushes: 0,
  /** WebSocket sends committed after a later frame of the same connection (a window too short). */
  lateFrames: 0,
};

/**
 * Held sends take at most this much of the conversation item (DynamoDB's item limit is 400 KB);
 * beyond it the oldest commit at once. The per-user rate limit keeps it far off.
 */
export const MAX_HELD_BYTES = 256 * 1024;

/** The reorder window, from this container's recent ingress latencies (see send-order.ts). */
let currentWindow: OrderWindow | undefined;
const orderWindow = () => {
  currentWindow ??= new OrderWindow(config().sendOrder);
  return currentWindow;
};

/** The newest frame time committed per connection (this container's view, for `lateFrames`). */
const lastFrameOf = new Map<string, number>();

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
    ...sequencerStateOf(c),
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

/** What became of each send of a conversation's batch. */
interface Outcomes {
  stored: Array<{ r: ReceivedSend; item: MessageItem }>;
  /** Stored by an earlier attempt (or earlier in this batch), at this seq. */
  duplicates: Array<{ r: ReceivedSend; seq: number }>;
  rejected: Array<{ r: ReceivedSend; code: string }>;
  /** Not decided: redelivered by the queue. */
  failed: ReceivedSend[];
  /** Sends left held in the reorder window, and how long until the oldest may commit (ms). */
  held: number;
  releaseInMs: number;
  /** The round failed: what it held stays held, and the queue must deliver this group again. */
  broken: boolean;
}

/**
 * The sequencer: for each conversation (message group) of a batch, merges the queued sends with the
 * ones it holds, commits in arrival order what has left the reorder window, in as few transactions as
 * the limits allow (group commit), and holds the rest on the conversation item. Then acknowledges each
 * sending connection and fans the messages out. `flushes` are conversations woken by a flush marker.
 * Returns the ids of queue messages to redeliver (a dependency failed; the queue keeps their order).
 */
export async function sequenceSends(
  received: readonly ReceivedSend[],
  flushes: ReadonlyArray<{ id: string; conversationId: string; sentAt: number }> = [],
): Promise<string[]> {
  orderWindow().observe(received);
  const windowMs = orderWindow().ms();
  const groups = new Map<string, { sends: ReceivedSend[]; markers: string[]; newestSentAt: number }>();
  const group = (id: string, sentAt: number) => {
    const g = groups.get(id) ?? { sends: [], markers: [], newestSentAt: 0 };
    g.newestSentAt = Math.max(g.newestSentAt, sentAt);
    groups.set(id, g);
    return g;
  };
  for (const r of received) group(r.send.conversationId, r.sentAt).sends.push(r);
  for (const f of flushes) group(f.conversationId, f.sentAt).markers.push(f.id);
  const failed = await Promise.all(
    [...groups].map(async ([conversationId, { sends, markers, newestSentAt }]) => {
      const cutoff = releaseCutoff(newestSentAt, windowMs);
      const outcomes = await commitConversation(conversationId, sends, cutoff, windowMs);
      await answer(conversationId, outcomes);
      const failedIds = outcomes.failed.map((r) => r.id);
      if (outcomes.held > 0) {
        // Nothing else is sure to deliver this message group again: queue a wake-up behind it. Woken
        // with nothing new, wait first until the next marker will release the oldest held send (at
        // most one window), so that held sends do not spin the queue. Sends that reach the queue
        // meanwhile lose nothing: they are held for a window of their own anyway.
        if (sends.length === 0) await sleep(outcomes.releaseInMs);
        try {
          sequencerCounters.flushes++;
          await enqueueFlush(conversationId);
        } catch (error) {
          logger.warn('sequencer: flush marker not queued; the queue redelivers the batch', {
            conversationId,
            error: error as Error,
          });
          return [...sends.map((r) => r.id), ...markers];
        }
      }
      // A marker whose conversation could not be processed comes back (held sends need a wake-up).
      return outcomes.broken ? [...failedIds, ...markers] : failedIds;
    }),
  );
  return failed.flat();
}

/**
 * Queues a flush marker for every conversation with held sends. For a local queue that keeps nothing
 * across a restart (SQS itself keeps the markers); returns how many conversations were woken.
 */
export async function wakeHeldConversations(): Promise<number> {
  const ids = await listConversationsWithHeldSends();
  for (const id of ids) await enqueueFlush(id);
  return ids.length;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function commitConversation(
  conversationId: string,
  received: readonly ReceivedSend[],
  cutoff: number,
  windowMs: number,
): Promise<Outcomes> {
  const out: Outcomes = {
    stored: [],
    duplicates: [],
    rejected: [],
    failed: [],
    held: 0,
    releaseInMs: 0,
    broken: false,
  };
  // Undecided sends from the queue, and every attempt decided here (held ones leave the list with it).
  let remaining = [...received];
  const decided = new Set<string>();
  const decide = (r: ReceivedSend) => {
    decided.add(r.send.attemptId);
    remaining = remaining.filter((x) => x !== r);
  };
  let snapshot = snapshots.get(conversationId) ?? (await load(conversationId));
  try {
    await withRetry(async () => {
      for (;;) {
        if (!snapshot) {
          for (const r of remaining) out.rejected.push({ r, code: 'not_found' });
          remaining = [];
          return;
        }
        const current = snapshot;
        const heldAttempts = new Set(current.held.map((h) => h.send.attemptId));
        // A redelivered copy of a held send is answered with the held one.
        remaining = remaining.filter((r) => !heldAttempts.has(r.send.attemptId));
        const held = fromHeld(current.held).filter((r) => !decided.has(r.send.attemptId));
        if (current.status !== 'active') {
          for (const r of [...held, ...remaining]) {
            out.rejected.push({ r, code: 'forbidden' });
            decide(r);
          }
          if (current.held.length) await writeHeld(current, []);
          return;
        }
        const plan = planRelease(held, remaining, cutoff, MAX_HELD_BYTES);
        // One transaction may touch a guard once: a repeated client message id waits for the next one.
        const seen = new Set<string>();
        const pending = plan.release.filter((r) => {
          const key = guardKey(r.send.senderId, r.send.clientMessageId);
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        if (pending.length === 0) {
          out.held = plan.hold.length;
          out.releaseInMs = msUntilRelease(plan.hold, Date.now(), windowMs);
          const unchanged =
            plan.hold.length === current.held.length &&
            plan.hold.every((r, i) => r.send.attemptId === current.held[i]?.send.attemptId);
          if (!unchanged) await writeHeld(current, toHeld(plan.hold));
          remaining = [];
          return;
        }
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
            ...(send.replyTo ? { replyTo: { seq: send.replyTo.seq } } : {}),
            createdAt,
            version: 1,
            ...(fanout
              ? { fanout, ...(send.origin ? { originConnectionId: send.origin.connectionId } : {}) }
              : {}),
          },
        }));
        const chunk = planTransactions(messages, current.type === 'direct')[0] as PendingMessage[];
        const committing = pending.slice(0, chunk.length);
        // Held after this commit: every undecided send but this chunk's (queued ones too, so that a
        // crash before the queue's delete loses nothing; their redelivered copies are then ignored).
        const heldAfter = toHeld([...plan.release.filter((r) => !committing.includes(r)), ...plan.hold]);
        const peerOf = (senderId: string) =>
          current.type === 'direct' ? current.memberIds.find((id) => id !== senderId) : undefined;
        sequencerCounters.transactions++;
        const result = await appendBatch(current, chunk, peerOf, heldAfter);
        if (result.ok) {
          sequencerCounters.messages += chunk.length;
          sequencerCounters.consumedCapacity += result.consumedCapacity;
          for (const [i, m] of chunk.entries()) {
            const r = committing[i] as ReceivedSend;
            out.stored.push({ r, item: m.item });
            noteFrame(r);
            decide(r);
          }
          // The rest of this plan was written back as held: the next round takes it from there.
          remaining = [];
          snapshot = {
            ...current,
            lastSeq: current.lastSeq + chunk.length,
            rev: current.rev + 1,
            held: heldAfter,
          };
          remember(snapshot);
          continue;
        }
        for (const [i, seq] of result.duplicates) {
          const r = committing[i];
          if (r) {
            out.duplicates.push({ r, seq });
            decide(r);
          }
        }
        for (const r of committing) {
          const code = result.notMembers.has(r.send.senderId)
            ? 'not_a_member'
            : result.notFriends.has(r.send.senderId)
              ? 'not_friends'
              : undefined;
          if (code && !decided.has(r.send.attemptId)) {
            out.rejected.push({ r, code });
            decide(r);
          }
        }
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
    out.failed.push(...remaining);
    out.broken = true;
    remaining = [];
  }
  return out;

  /** Writes the held list alone; a stale state is reloaded and the round retried. */
  async function writeHeld(current: Snapshot, held: HeldSend[]): Promise<void> {
    const saved = await saveHeld(current, held);
    if (saved.ok) {
      snapshot = { ...current, rev: current.rev + 1, held };
      remember(snapshot);
      return;
    }
    sequencerCounters.staleRetries++;
    snapshots.delete(conversationId);
    snapshot = saved.current ? await snapshotOf(saved.current, current) : await load(conversationId);
    throw new RetryableError('conversation changed under the held list', { fresh: true });
  }
}

/** Counts a WebSocket send committed after a later frame of its connection (the window was short). */
function noteFrame(r: ReceivedSend): void {
  const o = r.send.origin;
  if (!o) return;
  const last = lastFrameOf.get(o.connectionId) ?? 0;
  if (o.frameTime < last) sequencerCounters.lateFrames++;
  else {
    if (lastFrameOf.size >= 10_000) lastFrameOf.clear();
    lastFrameOf.set(o.connectionId, o.frameTime);
  }
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
  const replies: Delivery[] = [];
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
  await pushFrames(replies);
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
    const deliveries: Delivery[] = [];
    for (const { item, origin } of items) {
      // One frame object per message: pushFrames encodes it once for all its connections.
      const frame = { type: 'message', message: toMessage(item) };
      for (const c of connections) {
        if (c.connectionId !== origin) deliveries.push({ connectionId: c.connectionId, frame });
      }
    }
    await pushFrames(deliveries);
  } catch (error) {
    // Best effort: members fill gaps with sync.
    logger.warn('fan-out failed', { conversationId, error: error as Error });
  }
}
