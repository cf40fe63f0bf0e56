import { marshall } from '@aws-sdk/util-dynamodb';
import { errors } from '@opensearch-project/opensearch';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { SearchClient } from '#shared/adapters/opensearch.js';
import { indexStreamEvent } from '#shared/search/indexer.js';

const tables = { users: 'UsersT', messages: 'MessagesT' } as any;
let n = 100;

function record(
  table: string,
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  item: Record<string, unknown>,
): DynamoDBRecord {
  const image = marshall(item) as any;
  return {
    eventName,
    eventSourceARN: `arn:aws:dynamodb:us-east-1:1:table/${table}/stream/label`,
    dynamodb: {
      Keys: image,
      NewImage: eventName === 'REMOVE' ? undefined : image,
      OldImage: eventName === 'INSERT' ? undefined : image,
      SequenceNumber: String(++n),
    },
  };
}
const msg = (seq: number, version = 1) => ({
  conversationId: 'c',
  seq,
  messageId: `m${seq}`,
  senderId: 'u',
  clientMessageId: `k${seq}`,
  text: 'hi',
  createdAt: '2026-01-01T00:00:00Z',
  version,
});

/** A fake domain: records bulk bodies and answers each item with the status `answer` gives. */
function fakeClient(answer: (action: Record<string, any>, i: number) => Record<string, unknown>) {
  const bodies: Record<string, unknown>[][] = [];
  const client = {
    indices: { existsAlias: async () => ({ body: true }) },
    bulk: async ({ body }: { body: Record<string, unknown>[] }) => {
      bodies.push(body);
      const items: Record<string, unknown>[] = [];
      for (let i = 0; i < body.length; i++) {
        const line = body[i] as Record<string, any>;
        const op = Object.keys(line)[0] as string;
        items.push({ [op]: answer(line[op], items.length) });
        if (op === 'index') i++;
      }
      return { body: { errors: items.length > 0, items } };
    },
  };
  return { client: client as unknown as SearchClient, bodies };
}

describe('search indexer', () => {
  it('waits out an unreachable domain inside the invocation while it has time, else throws', async () => {
    const { client, bodies } = fakeClient(() => ({ status: 201, result: 'created' }));
    const healthy = client.bulk.bind(client);
    let refusals = 2;
    const flaky = Object.assign(Object.create(client) as object, {
      bulk: async (req: { body: Record<string, unknown>[] }) => {
        if (refusals-- > 0)
          throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'ConnectionError' });
        return healthy(req);
      },
    }) as unknown as SearchClient;
    const event = { Records: [record('MessagesT', 'INSERT', msg(1))] };
    const res = await indexStreamEvent(event, { client: flaky, tables, remainingMs: () => 60_000 });
    expect(res).toEqual({ batchItemFailures: [] });
    expect(bodies).toHaveLength(1);
    // Without time to wait (or without a context), the failure goes to the mapping's retry.
    refusals = 1;
    await expect(
      indexStreamEvent(event, { client: flaky, tables, remainingMs: () => 5_000 }),
    ).rejects.toThrow('ECONNREFUSED');
  });

  it('builds one bulk request with external versions through the aliases', async () => {
    const { client, bodies } = fakeClient(() => ({ status: 201, result: 'created' }));
    const res = await indexStreamEvent(
      {
        Records: [
          record('MessagesT', 'INSERT', msg(1)),
          record('MessagesT', 'REMOVE', msg(2, 4)),
          record('UsersT', 'MODIFY', {
            userId: 'u1',
            username: 'a',
            displayName: 'A',
            bio: '',
            status: 'deleting',
            version: 5,
          }),
        ],
      },
      { client, tables },
    );
    expect(res).toEqual({ batchItemFailures: [] });
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toEqual([
      { index: { _index: 'messages', _id: 'c#1', version: 2, version_type: 'external' } },
      {
        conversationId: 'c',
        seq: 1,
        messageId: 'm1',
        senderId: 'u',
        clientMessageId: 'k1',
        text: 'hi',
        createdAt: '2026-01-01T00:00:00Z',
      },
      { delete: { _index: 'messages', _id: 'c#2', version: 9, version_type: 'external_gte' } },
      { delete: { _index: 'users', _id: 'u1', version: 11, version_type: 'external_gte' } },
    ]);
  });

  it('counts version conflicts and deletes of absent documents as success, reports other item failures', async () => {
    const answers = [
      { status: 409, error: { type: 'version_conflict_engine_exception', reason: 'newer' } },
      { status: 404, result: 'not_found' },
      { status: 400, error: { type: 'mapper_parsing_exception', reason: 'bad date' } },
      { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } },
      { status: 200, result: 'updated' },
    ];
    const { client } = fakeClient((_, i) => answers[i] as Record<string, unknown>);
    const records = [
      record('MessagesT', 'MODIFY', msg(1)),
      record('MessagesT', 'REMOVE', msg(2)),
      record('MessagesT', 'INSERT', msg(3)),
      record('MessagesT', 'INSERT', msg(4)),
      record('MessagesT', 'INSERT', msg(5)),
    ];
    const res = await indexStreamEvent({ Records: records }, { client, tables });
    expect(res.batchItemFailures).toEqual([
      { itemIdentifier: records[2]?.dynamodb?.SequenceNumber },
      { itemIdentifier: records[3]?.dynamodb?.SequenceNumber },
    ]);
  });

  it('reports unmappable records in batch order and skips tables it does not index', async () => {
    const { client, bodies } = fakeClient(() => ({ status: 201 }));
    const bad = record('MessagesT', 'INSERT', { ...msg(1), version: 'x' });
    const other = record('FriendshipsT', 'INSERT', { userId: 'a', friendId: 'b' });
    const good = record('MessagesT', 'INSERT', msg(2));
    const res = await indexStreamEvent({ Records: [other, bad, good] }, { client, tables });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: bad.dynamodb?.SequenceNumber }]);
    expect(bodies[0]).toHaveLength(2);
  });

  it('does not call the domain for an empty or unindexed batch', async () => {
    const { client, bodies } = fakeClient(() => ({ status: 201 }));
    expect(await indexStreamEvent({ Records: [] }, { client, tables })).toEqual({ batchItemFailures: [] });
    expect(bodies).toHaveLength(0);
  });

  it('throws when the domain cannot be reached, so the whole batch is retried', async () => {
    const client = {
      indices: { existsAlias: async () => ({ body: true }) },
      bulk: async () => {
        throw new errors.ConnectionError('connect ECONNREFUSED');
      },
    } as unknown as SearchClient;
    await expect(
      indexStreamEvent({ Records: [record('MessagesT', 'INSERT', msg(1))] }, { client, tables }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
