import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { config } from '../config/env.js';
import { batchGetAll } from './batch-get.js';
import { cancellationReasons } from './transactions.js';

/** API Gateway closes a WebSocket after at most two hours; no connection item outlives that. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60;

export interface ConnectionRecord {
  connectionId: string;
  userId: string;
  connectedAt: string;
}

interface ConnectionEntry {
  connectedAt: string;
  expiresAt: number;
}

/** One item per user listing the live connections, so a fan-out reads all members in one batch. */
interface UserConnectionsItem {
  pk: string;
  sk: string;
  userId: string;
  conns?: Record<string, ConnectionEntry>;
  expiresAt: number;
}

interface Deps {
  client?: DocClient;
  tableName?: string;
}

const userKey = (userId: string) => ({ pk: `USER#${userId}`, sk: 'CONNS' });
const metaKey = (connectionId: string) => ({ pk: `CONN#${connectionId}`, sk: 'META' });
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Records a live connection atomically in two places, both with a TTL: its own item (connection to
 * user) and the user's connection list (user to connections).
 */
export async function saveConnection(record: ConnectionRecord, deps: Deps = {}): Promise<void> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const expiresAt = Math.floor(Date.parse(record.connectedAt) / 1000) + CONNECTION_TTL_SECONDS;
  const entry: ConnectionEntry = { connectedAt: record.connectedAt, expiresAt };
  const meta = {
    Put: { TableName: tableName, Item: { ...metaKey(record.connectionId), ...record, expiresAt } },
  };
  // The list is a map; adding a key needs the map to exist, creating it needs it not to: try both.
  for (let attempt = 0; attempt < 5; attempt++) {
    const addToList = {
      Update: {
        TableName: tableName,
        Key: userKey(record.userId),
        UpdateExpression: 'SET conns.#c = :entry, userId = :u, expiresAt = :exp',
        ConditionExpression: 'attribute_exists(conns)',
        ExpressionAttributeNames: { '#c': record.connectionId },
        ExpressionAttributeValues: { ':entry': entry, ':u': record.userId, ':exp': expiresAt },
      },
    };
    const createList = {
      Update: {
        TableName: tableName,
        Key: userKey(record.userId),
        UpdateExpression: 'SET conns = :map, userId = :u, expiresAt = :exp',
        ConditionExpression: 'attribute_not_exists(conns)',
        ExpressionAttributeValues: {
          ':map': { [record.connectionId]: entry },
          ':u': record.userId,
          ':exp': expiresAt,
        },
      },
    };
    try {
      await client.send(
        new TransactWriteCommand({ TransactItems: [meta, attempt % 2 === 0 ? addToList : createList] }),
      );
      return;
    } catch (err) {
      if (!cancellationReasons(err)) throw err;
    }
  }
  throw new Error('Could not record the connection');
}

/** Removes a connection from both places; a connection already gone is not an error. */
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
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: tableName, Key: metaKey(connectionId) } },
          {
            Update: {
              TableName: tableName,
              Key: userKey(record.userId),
              UpdateExpression: 'REMOVE conns.#c',
              ConditionExpression: 'attribute_exists(conns)',
              ExpressionAttributeNames: { '#c': connectionId },
            },
          },
        ],
      }),
    );
  } catch (err) {
    if (!cancellationReasons(err)) throw err;
    // The user's list is already gone (expired): the connection's own item is all that is left.
    await client.send(
      new TransactWriteCommand({
        TransactItems: [{ Delete: { TableName: tableName, Key: metaKey(connectionId) } }],
      }),
    );
  }
  return record;
}

function live(item: UserConnectionsItem | undefined, now: number): ConnectionRecord[] {
  // TTL deletion is lazy and per item; an expired entry is already dead.
  return Object.entries(item?.conns ?? {})
    .filter(([, e]) => e.expiresAt > now)
    .map(([connectionId, e]) => ({
      connectionId,
      userId: item?.userId as string,
      connectedAt: e.connectedAt,
    }));
}

/** Every live connection of a user, read strongly consistently. */
export async function listUserConnections(userId: string, deps: Deps = {}): Promise<ConnectionRecord[]> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const res = await client.send(
    new GetCommand({ TableName: tableName, Key: userKey(userId), ConsistentRead: true }),
  );
  return live(res.Item as UserConnectionsItem | undefined, nowSeconds());
}

/** Every live connection of many users in one strongly consistent batch read. */
export async function listConnectionsOfUsers(
  userIds: readonly string[],
  deps: Deps = {},
): Promise<ConnectionRecord[]> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const items = await batchGetAll<UserConnectionsItem>(client, tableName, [...new Set(userIds)].map(userKey));
  const now = nowSeconds();
  return items.flatMap((item) => live(item, now));
}
