import { expect, it } from 'vitest';
import type { DocClient } from '#shared/clients/dynamodb.js';
import { commitMessageChange } from '#shared/data/message-changes-repo.js';
import type { MessageItem } from '#shared/data/messages-repo.js';

it('answers stale, sending nothing, when the message was changed after the counter was read', async () => {
  let sent = 0;
  const client = {
    send: async () => {
      sent++;
      return {};
    },
  } as unknown as DocClient;
  // Read in parallel: the counter said 4, the message already carries change 5.
  const before = { conversationId: 'c1', seq: 3, changeSeq: 5 } as unknown as MessageItem;
  const change = { actorId: 'u1', before, lastChangeSeq: 4, set: { reactions: { '🎉': 1 } } };
  expect(await commitMessageChange(change, { client })).toBe('stale');
  expect(sent).toBe(0);
  // Consistent reads (the message at change 4) reach the table.
  await commitMessageChange({ ...change, before: { ...before, changeSeq: 4 } as MessageItem }, { client });
  expect(sent).toBe(1);
});
