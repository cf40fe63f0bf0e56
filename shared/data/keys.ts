/** Key builders for the tables whose items share a generic `pk`/`sk` layout. */
export const requestKeys = {
  record: (requestId: string) => ({ pk: `REQ#${requestId}`, sk: 'REQ' }),
  incoming: (toUserId: string, fromUserId: string) => ({ pk: `USER#${toUserId}`, sk: `IN#${fromUserId}` }),
  outgoing: (fromUserId: string, toUserId: string) => ({ pk: `USER#${fromUserId}`, sk: `OUT#${toUserId}` }),
  /** The partition of a user's pending list entries and the sort-key prefix of one direction. */
  entries: (userId: string, direction: 'incoming' | 'outgoing') => ({
    pk: `USER#${userId}`,
    skPrefix: direction === 'incoming' ? 'IN#' : 'OUT#',
  }),
  /** True for the request record itself (not one of its list entries). */
  isRecord: (key: { sk?: unknown }) => key.sk === 'REQ',
  /**
   * Reads a list entry's key back: whose list (`userId`), which direction, and the other user.
   * `direction` is undefined for a key of neither shape.
   */
  parseEntry: (key: { pk?: unknown; sk?: unknown }) => {
    const pk = String(key.pk);
    const sk = String(key.sk);
    const userId = pk.startsWith('USER#') ? pk.slice(5) : pk;
    if (sk.startsWith('IN#')) return { userId, direction: 'incoming' as const, otherUserId: sk.slice(3) };
    if (sk.startsWith('OUT#')) return { userId, direction: 'outgoing' as const, otherUserId: sk.slice(4) };
    return { userId, direction: undefined, otherUserId: undefined };
  },
};

/** Primary key of a users-table item. */
export const userKey = (userId: string) => ({ userId });

/** Primary key of a messages-table item: the conversation and the message's `seq`. */
export const messageKey = (conversationId: string, seq: number) => ({ conversationId, seq });
