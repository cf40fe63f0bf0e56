import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { type TableName, tableNames } from '#shared/config/table-names.js';
import {
  appendBatch,
  batchActions,
  type ConversationSnapshot,
  guardKey,
  type PendingMessage,
  planTransactions,
  TRANSACTION_MAX_ACTIONS,
  TRANSACTION_MAX_BYTES,
} from '#shared/data/messages-repo.js';
import { RetryableError } from '#shared/retry.js';
import { unique } from '../support/tables.js';

/** Its own client, so nothing here touches the process-wide one. */
const client = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'unit', secretAccessKey: 'unit' },
  }),
  { marshallOptions: { removeUndefinedValues: true } },
);
const ddb = mockClient(client);
afterEach(() => ddb.reset());

const tables = Object.fromEntries(tableNames.map((name) => [name, `unit-${name}`])) as Record<
  TableName,
  string
>;
const deps = { client, tables };

/** `count` messages of a conversation from seq `afterSeq + 1`; `senderOf(i)` picks each one's sender. */
function pending(
  conversationId: string,
  count: number,
  senderOf: (i: number) => string,
  options: { afterSeq?: number; text?: (i: number) => string } = {},
): PendingMessage[] {
  const afterSeq = options.afterSeq ?? 0;
  return Array.from({ length: count }, (_, i) => ({
    attemptId: `attempt-${i}`,
    item: {
      conversationId,
      seq: afterSeq + 1 + i,
      messageId: `m-${i}`,
      senderId: senderOf(i),
      clientMessageId: `cm-${i}`,
      text: options.text?.(i) ?? `hello ${i}`,
      createdAt: '2026-01-01T00:00:00.000Z',
      version: 1,
    },
  }));
}

const ids = (chunks: PendingMessage[][]) => chunks.map((c) => c.map((m) => m.item.messageId));
const senderCount = (chunk: PendingMessage[]) => new Set(chunk.map((m) => m.item.senderId)).size;
const itemBytes = (chunk: PendingMessage[]) =>
  chunk.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m.item), 'utf8'), 0);

describe('planning group-commit transactions', () => {
  it('counts the actions of a batch: counter, message and guard each, checks per sender', () => {
    expect(batchActions(10, 1, false)).toBe(1 + 20 + 2);
    expect(batchActions(10, 1, true)).toBe(1 + 20 + 3);
    expect(batchActions(48, 1, true)).toBe(TRANSACTION_MAX_ACTIONS);
  });

  it('puts 10 messages of one sender in one transaction', () => {
    const messages = pending(unique('c_'), 10, () => 'u_alice');
    const chunks = planTransactions(messages, false);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toEqual(messages);
  });

  it('splits 60 messages of 40 senders into consecutive chunks within 100 actions, order kept', () => {
    for (const direct of [false, true]) {
      // Senders 0..39, then 20 more messages from the first senders again.
      const messages = pending(unique('c_'), 60, (i) => `u_${i % 40}`);

      const chunks = planTransactions(messages, direct);

      expect(chunks.length, `direct=${direct}`).toBeGreaterThan(1);
      for (const chunk of chunks) {
        expect(chunk.length).toBeGreaterThan(0);
        expect(batchActions(chunk.length, senderCount(chunk), direct)).toBeLessThanOrEqual(
          TRANSACTION_MAX_ACTIONS,
        );
      }
      expect(chunks.flat()).toEqual(messages);
      // Each chunk is as large as it can be: the next message would not have fitted.
      chunks.slice(0, -1).forEach((chunk, i) => {
        const withNext = [...chunk, chunks[i + 1]?.[0] as PendingMessage];
        expect(batchActions(withNext.length, senderCount(withNext), direct)).toBeGreaterThan(
          TRANSACTION_MAX_ACTIONS,
        );
      });
    }
  });

  it('splits large texts by their UTF-8 bytes, each transaction under 4 MB', () => {
    // 700,000 three-byte characters: 2.1 MB each, so two never fit one transaction.
    const wide = pending(unique('c_'), 5, () => 'u_alice', { text: () => '€'.repeat(700_000) });
    const wideChunks = planTransactions(wide, false);
    expect(ids(wideChunks)).toEqual([['m-0'], ['m-1'], ['m-2'], ['m-3'], ['m-4']]);

    // 500 kB of ASCII each: several per transaction.
    const ascii = pending(unique('c_'), 10, () => 'u_bob', { text: () => 'x'.repeat(500_000) });
    const asciiChunks = planTransactions(ascii, false);
    expect(asciiChunks.length).toBeGreaterThan(1);
    expect(asciiChunks.length).toBeLessThan(10);
    expect(asciiChunks.flat()).toEqual(ascii);

    for (const chunk of [...wideChunks, ...asciiChunks]) {
      expect(itemBytes(chunk)).toBeLessThan(TRANSACTION_MAX_BYTES);
    }
  });

  it('returns no chunks for no messages', () => {
    expect(planTransactions([], true)).toEqual([]);
  });
});

const N = 'None';
const FAILED = 'ConditionalCheckFailed';
/** A cancelled transaction as DynamoDB reports it; `items` holds the ALL_OLD images by index (raw). */
const cancelled = (codes: string[], items: Record<number, Record<string, unknown>> = {}) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code, i) => ({
      Code,
      ...(items[i] ? { Item: marshall(items[i], { removeUndefinedValues: true }) } : {}),
    })),
  });

/** A snapshot at lastSeq 5, version 3; `members[0]` and `members[1]` are the sides of a direct one. */
function snapshot(type: 'direct' | 'group', members: string[]): ConversationSnapshot {
  return {
    conversationId: unique('c_'),
    lastSeq: 5,
    version: 3,
    type,
    memberCount: members.length,
    memberIds: members,
    rev: 0,
    held: [],
  };
}

const peerIn = (s: ConversationSnapshot) => (senderId: string) =>
  s.type === 'direct' ? s.memberIds.find((id) => id !== senderId) : undefined;

/** The transaction's items as sent. */
function sentItems(): any[] {
  const calls = ddb.commandCalls(TransactWriteCommand);
  expect(calls).toHaveLength(1);
  return calls[0]?.args[0].input.TransactItems as any[];
}

describe('committing a batch in one transaction', () => {
  it('guards the counter and every message, and checks each sender once', async () => {
    const s = snapshot('direct', ['u_a', 'u_b']);
    const messages = pending(s.conversationId, 3, (i) => (i === 1 ? 'u_b' : 'u_a'), { afterSeq: 5 });
    ddb.on(TransactWriteCommand).resolves({ ConsumedCapacity: [{ CapacityUnits: 7 }, { CapacityUnits: 4 }] });

    const result = await appendBatch(s, messages, peerIn(s), [], deps);

    expect(result).toEqual({ ok: true, consumedCapacity: 11 });
    const items = sentItems();
    expect(items).toHaveLength(batchActions(3, 2, true));
    const counter = items[0].Update;
    expect(counter.TableName).toBe(tables.conversations);
    expect(counter.Key).toEqual({ conversationId: s.conversationId });
    expect(counter.ConditionExpression).toBe(
      'lastSeq = :prev AND version = :version AND #status = :active AND attribute_not_exists(sequencerRev)',
    );
    expect(counter.UpdateExpression).toBe(
      'SET lastSeq = :seq, lastMessage = :summary, lastActivityAt = :now, sequencerRev = :nextRev REMOVE held',
    );
    expect(counter.ExpressionAttributeNames).toEqual({ '#status': 'status' });
    expect(counter.ExpressionAttributeValues).toMatchObject({
      ':seq': 8,
      ':prev': 5,
      ':version': 3,
      ':active': 'active',
    });
    expect(counter.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    messages.forEach((m, i) => {
      const put = items[1 + 2 * i].Put;
      expect(put).toEqual({
        TableName: tables.messages,
        Item: m.item,
        ConditionExpression: 'attribute_not_exists(seq)',
      });
      const guard = items[2 + 2 * i].Put;
      expect(guard.TableName).toBe(tables.messageGuards);
      expect(guard.Item).toEqual({
        conversationId: s.conversationId,
        guardKey: guardKey(m.item.senderId, m.item.clientMessageId),
        seq: m.item.seq,
        messageId: m.item.messageId,
        createdAt: m.item.createdAt,
        attemptId: m.attemptId,
      });
      expect(guard.ConditionExpression).toBe('attribute_not_exists(guardKey) OR attribute_exists(rejected)');
      expect(guard.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    });
    // Per sender, in order of first appearance: membership, read position (to their newest), friendship.
    const checks = items.slice(7);
    expect(checks.map((c) => Object.keys(c)[0])).toEqual([
      'ConditionCheck',
      'Update',
      'ConditionCheck',
      'ConditionCheck',
      'Update',
      'ConditionCheck',
    ]);
    expect(checks[0].ConditionCheck.Key).toEqual({ conversationId: s.conversationId, userId: 'u_a' });
    expect(checks[1].Update.ExpressionAttributeValues).toEqual({ ':seq': 8 });
    expect(checks[2].ConditionCheck).toMatchObject({
      TableName: tables.friendships,
      Key: { userId: 'u_a', friendId: 'u_b' },
    });
    expect(checks[4].Update.ExpressionAttributeValues).toEqual({ ':seq': 7 });
    expect(checks[5].ConditionCheck.Key).toEqual({ userId: 'u_b', friendId: 'u_a' });
  });

  it('reports a stale conversation with its current image when the counter condition failed', async () => {
    const s = snapshot('group', ['u_a', 'u_b', 'u_c']);
    const messages = pending(s.conversationId, 2, () => 'u_a', { afterSeq: 5 });
    const current = {
      conversationId: s.conversationId,
      type: 'group',
      memberCount: 3,
      lastSeq: 9,
      status: 'active',
      createdAt: '2026-01-01T00:00:00.000Z',
      lastActivityAt: '2026-01-01T00:00:01.000Z',
      version: 4,
    };
    // counter, 2 × (message, guard), member, read
    ddb.on(TransactWriteCommand).rejects(cancelled([FAILED, N, N, N, N, N, N], { 0: current }));

    const result = await appendBatch(s, messages, peerIn(s), [], deps);

    expect(result).toEqual({
      ok: false,
      stale: { current },
      duplicates: new Map(),
      notMembers: new Set(),
      notFriends: new Set(),
    });
  });

  it('treats a taken message slot as a stale conversation', async () => {
    const s = snapshot('group', ['u_a', 'u_b']);
    const messages = pending(s.conversationId, 2, () => 'u_a', { afterSeq: 5 });
    ddb.on(TransactWriteCommand).rejects(cancelled([N, N, N, FAILED, N, N, N]));

    const result = await appendBatch(s, messages, peerIn(s), [], deps);

    expect(result).toMatchObject({ ok: false, stale: { current: undefined } });
  });

  it('maps a failed guard holding a stored seq to a duplicate of that message, not a refusal record', async () => {
    const s = snapshot('group', ['u_a', 'u_b']);
    const messages = pending(s.conversationId, 3, () => 'u_a', { afterSeq: 5 });
    const guardOf = (i: number, extra: Record<string, unknown>) => ({
      conversationId: s.conversationId,
      guardKey: guardKey('u_a', `cm-${i}`),
      ...extra,
    });
    // Guards at 2, 4, 6: message 0 was stored earlier at seq 2; message 2's guard is a refusal record.
    ddb.on(TransactWriteCommand).rejects(
      cancelled([N, N, FAILED, N, N, N, FAILED, N, N], {
        2: guardOf(0, { seq: 2, messageId: 'm-old', attemptId: 'attempt-old' }),
        6: guardOf(2, { seq: 4, rejected: 'not_a_member' }),
      }),
    );

    const result = await appendBatch(s, messages, peerIn(s), [], deps);

    expect(result).toEqual({
      ok: false,
      stale: undefined,
      duplicates: new Map([[0, 2]]),
      notMembers: new Set(),
      notFriends: new Set(),
    });
  });

  it('maps a failed membership check to that sender only', async () => {
    const s = snapshot('group', ['u_a', 'u_b']);
    const messages = pending(s.conversationId, 3, (i) => (i === 2 ? 'u_b' : 'u_a'), { afterSeq: 5 });
    // counter, 3 × 2, then u_a: member, read; u_b: member, read
    const codes = [N, N, N, N, N, N, N, N, N, FAILED, N];
    ddb.on(TransactWriteCommand).rejects(cancelled(codes));

    const result = await appendBatch(s, messages, peerIn(s), [], deps);

    expect(result).toMatchObject({ ok: false, notMembers: new Set(['u_b']), notFriends: new Set() });
    expect((result as { stale?: unknown }).stale).toBeUndefined();
  });

  it('maps a failed read-position update (no user conversation) to not a member', async () => {
    const s = snapshot('group', ['u_a', 'u_b']);
    const messages = pending(s.conversationId, 1, () => 'u_a', { afterSeq: 5 });
    ddb.on(TransactWriteCommand).rejects(cancelled([N, N, N, N, FAILED]));

    const result = await appendBatch(s, messages, peerIn(s), [], deps);

    expect(result).toMatchObject({ ok: false, notMembers: new Set(['u_a']) });
  });

  it('maps a failed friendship check of a direct conversation to not friends', async () => {
    const s = snapshot('direct', ['u_a', 'u_b']);
    const messages = pending(s.conversationId, 2, (i) => (i === 0 ? 'u_a' : 'u_b'), { afterSeq: 5 });
    // counter, 2 × 2, then u_a: member, read, friend; u_b: member, read, friend
    const codes = [N, N, N, N, N, N, N, N, N, N, FAILED];
    ddb.on(TransactWriteCommand).rejects(cancelled(codes));

    const result = await appendBatch(s, messages, peerIn(s), [], deps);

    expect(result).toMatchObject({ ok: false, notMembers: new Set(), notFriends: new Set(['u_b']) });
  });

  it('throws RetryableError when the transaction only lost a race', async () => {
    const s = snapshot('group', ['u_a', 'u_b']);
    const messages = pending(s.conversationId, 2, () => 'u_a', { afterSeq: 5 });
    ddb.on(TransactWriteCommand).rejects(cancelled([N, 'TransactionConflict', N, N, N, N, N]));

    await expect(appendBatch(s, messages, peerIn(s), [], deps)).rejects.toBeInstanceOf(RetryableError);
  });

  it('rethrows a cancellation it cannot map, and any other error', async () => {
    const s = snapshot('group', ['u_a', 'u_b']);
    const messages = pending(s.conversationId, 1, () => 'u_a', { afterSeq: 5 });
    const odd = cancelled([N, 'ValidationError', N, N, N]);
    ddb.on(TransactWriteCommand).rejectsOnce(odd).rejectsOnce(new Error('socket hang up'));

    await expect(appendBatch(s, messages, peerIn(s), [], deps)).rejects.toBe(odd);
    await expect(appendBatch(s, messages, peerIn(s), [], deps)).rejects.toThrow('socket hang up');
  });

  it('refuses an empty batch without sending anything', async () => {
    const s = snapshot('group', ['u_a']);
    await expect(appendBatch(s, [], peerIn(s), [], deps)).rejects.toThrow('no messages');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('writes the held sends and the next revision on condition the revision is unchanged', async () => {
    const s = { ...snapshot('group', ['u_a']), rev: 7 };
    const messages = pending(s.conversationId, 1, () => 'u_a', { afterSeq: 5 });
    const held = [
      {
        sentAt: 1_767_225_600_010,
        send: {
          attemptId: 'a-held',
          conversationId: s.conversationId,
          senderId: 'u_a',
          clientMessageId: 'later',
          text: 'later',
          messageId: 'm-held',
          enqueuedAt: 1_767_225_600_000,
          origin: { connectionId: 'conn', frameTime: 1_767_225_600_005, requestId: undefined },
        },
      },
    ];
    ddb.on(TransactWriteCommand).resolves({});

    await appendBatch(s, messages, peerIn(s), held, deps);

    const counter = sentItems()[0].Update;
    expect(counter.ConditionExpression).toMatch(/ AND sequencerRev = :rev$/);
    expect(counter.UpdateExpression).toMatch(/, held = :held, sequencerRev = :nextRev$/);
    expect(counter.ExpressionAttributeValues[':rev']).toBe(7);
    expect(counter.ExpressionAttributeValues[':nextRev']).toBe(8);
    // Stored without the undefined field DynamoDB cannot hold.
    expect(counter.ExpressionAttributeValues[':held']).toEqual([
      {
        ...held[0],
        send: { ...held[0]?.send, origin: { connectionId: 'conn', frameTime: 1_767_225_600_005 } },
      },
    ]);
  });
});
