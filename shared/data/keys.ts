/** Key builders for the tables whose items share a generic `pk`/`sk` layout. */
export const requestKeys = {
  record: (requestId: string) => ({ pk: `REQ#${requestId}`, sk: 'REQ' }),
  incoming: (toUserId: string, fromUserId: string) => ({ pk: `USER#${toUserId}`, sk: `IN#${fromUserId}` }),
  outgoing: (fromUserId: string, toUserId: string) => ({ pk: `USER#${fromUserId}`, sk: `OUT#${toUserId}` }),
};
