import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { config } from '../config/env.js';

/** API Gateway closes a WebSocket after at most two hours; no connection item outlives that. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60;

export interface ConnectionRecord {
  connectionId: string;
  userId: string;
  connectedAt: string;
}

interface Deps {
  client?: DocClient;
  tableName?: string;
}

const userKey = (userId: string, connectionId: string) => ({
  pk: `USER#${userId}`,
  sk: `CONN#${connectionId}`,
});
const metaKey = (connectionId: string) => ({ pk: `CONN#${connectionId}`, sk: 'META' });

/** Records a live connection: the user's list entry and the reverse lookup, atomically, both with a TTL. */
export async function saveConnection(record: ConnectionRecord, deps: Deps = {}): Promise<void> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const expiresAt = Math.floor(Date.parse(record.connectedAt) / 1000) + CONNECTION_TTL_SECONDS;
  await client.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: tableName,
            Item: { ...userKey(record.userId, record.connectionId), ...record, expiresAt },
          },
        },
        { Put: { TableName: tableName, Item: { ...metaKey(record.connectionId), ...record, expiresAt } } },
      ],
    }),
  );
}

/** Removes a connection (both items); a connection already gone is not an error. */
export async function deleteConnection(
  connectionId: string,
  deps: Deps = {},
): Promise<ConnectionRecord | undefined> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const meta = await client.send(
    new GetCommand({ TableName: tableName, Key: metaKey(connectionId), ConsistentRead: true }),
  );
  const record = meta.Item as ConnectionRecord | undefined;
  if (!record) return undefined;
  await client.send(
    new TransactWriteCommand({
      TransactItems: [
        { Delete: { TableName: tableName, Key: userKey(record.userId, connectionId) } },
        { Delete: { TableName: tableName, Key: metaKey(connectionId) } },
      ],
    }),
  );
  return record;
}

/** Every live connection of a user, read strongly consistently from the base table. */
export async function listUserConnections(userId: string, deps: Deps = {}): Promise<ConnectionRecord[]> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const now = Math.floor(Date.now() / 1000);
  const items: ConnectionRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :conn)',
        // TTL deletion is lazy; an expired item is already dead.
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: { ':pk': `USER#${userId}`, ':conn': 'CONN#', ':now': now },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      items.push({ connectionId: item.connectionId, userId: item.userId, connectedAt: item.connectedAt });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}
