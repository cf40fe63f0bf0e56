import type { DocClient } from '../clients/dynamodb.js';
import type { Config } from '../config/env.js';
import { scanConversationTables } from '../data/conversations-repo.js';
import { scanFriendRequests, scanFriendships } from '../data/friends-repo.js';
import { directConversationId } from './ids.js';

export interface Violation {
  rule: string;
  detail: string;
}

/**
 * Reads every relationship table and reports each broken invariant: a friendship without its reverse
 * row, its conversation or its memberships; a pending request between friends or with missing list
 * entries; two direct conversations for one pair; a membership without its per-user entry (and back);
 * a member count that disagrees with the members.
 */
export async function checkInvariants(
  deps: { client?: DocClient; tables?: Config['tables'] } = {},
): Promise<Violation[]> {
  const [friendships, requests, { conversations, members, entries }] = await Promise.all([
    scanFriendships(deps),
    scanFriendRequests(deps),
    scanConversationTables(deps),
  ]);
  const violations: Violation[] = [];
  const add = (rule: string, detail: string) => violations.push({ rule, detail });

  const friendKey = (a: string, b: string) => `${a}|${b}`;
  const friendSet = new Set(friendships.map((f) => friendKey(f.userId, f.friendId)));
  const convById = new Map(conversations.map((c) => [c.conversationId, c]));
  const memberSet = new Set(members.map((m) => `${m.conversationId}|${m.userId}`));
  const entrySet = new Set(entries.map((e) => `${e.conversationId}|${e.userId}`));

  for (const f of friendships) {
    const pair = `${f.userId} -> ${f.friendId}`;
    if (!friendSet.has(friendKey(f.friendId, f.userId))) add('friendship-without-reverse', pair);
    const conv = convById.get(f.conversationId);
    if (!conv) add('friendship-without-conversation', `${pair} (${f.conversationId})`);
    else if (conv.conversationId !== directConversationId(f.userId, f.friendId) || conv.type !== 'direct') {
      add('friendship-with-wrong-conversation', `${pair} (${f.conversationId})`);
    }
    for (const u of [f.userId, f.friendId]) {
      if (!memberSet.has(`${f.conversationId}|${u}`)) add('friendship-without-membership', `${pair}: ${u}`);
    }
  }

  const directByPair = new Map<string, string[]>();
  for (const c of conversations) {
    if (c.type !== 'direct') continue;
    const pair = [...(c.memberIds ?? [])].sort().join('|');
    directByPair.set(pair, [...(directByPair.get(pair) ?? []), c.conversationId]);
  }
  for (const [pair, ids] of directByPair) {
    if (ids.length > 1) add('two-direct-conversations', `${pair}: ${ids.join(', ')}`);
  }

  for (const m of members) {
    if (!entrySet.has(`${m.conversationId}|${m.userId}`))
      add('membership-without-user-entry', `${m.conversationId}|${m.userId}`);
    if (!convById.has(m.conversationId))
      add('membership-without-conversation', `${m.conversationId}|${m.userId}`);
  }
  for (const e of entries) {
    if (!memberSet.has(`${e.conversationId}|${e.userId}`))
      add('user-entry-without-membership', `${e.conversationId}|${e.userId}`);
  }
  const counts = new Map<string, number>();
  for (const m of members) counts.set(m.conversationId, (counts.get(m.conversationId) ?? 0) + 1);
  for (const c of conversations) {
    if (c.status === 'active' && (counts.get(c.conversationId) ?? 0) !== c.memberCount) {
      add(
        'member-count-mismatch',
        `${c.conversationId}: ${c.memberCount} vs ${counts.get(c.conversationId) ?? 0}`,
      );
    }
  }

  const { records, entries: pendingViews } = requests;
  const views = new Set(
    pendingViews.map((v) => `${v.direction}|${v.userId}|${v.otherUserId}|${v.requestId}`),
  );
  const pendingIds = new Set(records.filter((r) => r.status === 'pending').map((r) => r.requestId));
  for (const r of records) {
    if (r.status !== 'pending') continue;
    if (friendSet.has(friendKey(r.fromUserId, r.toUserId)))
      add('pending-request-between-friends', r.requestId);
    if (!views.has(`incoming|${r.toUserId}|${r.fromUserId}|${r.requestId}`))
      add('pending-request-without-incoming-entry', r.requestId);
    if (!views.has(`outgoing|${r.fromUserId}|${r.toUserId}|${r.requestId}`))
      add('pending-request-without-outgoing-entry', r.requestId);
  }
  for (const v of pendingViews) {
    if (!pendingIds.has(v.requestId)) add('request-entry-without-pending-request', v.key);
  }
  return violations;
}
