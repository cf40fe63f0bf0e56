import {
  DeleteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { CONNECTION_TTL_SECONDS } from '../config/connections.js';
import { config } from '../config/env.js';
import { EXPIRING_CONNECTIONS_INDEX } from '../config/table-names.js';
import { batchGetAll } from './batch-get.js';
import { cancellationReasons } from './transactions.js';

export { CONNECTION_TTL_SECONDS } from '../config/connections.js';

export interface ConnectionRecord {
  connectionId: string;
  userId: string;
  connectedAt: string;
  /** The id of the token the connection was opened with (logout closes that token's connections). */
  tokenId?: string;
}

export interface NewConnection extends ConnectionRecord {
  /**
   * When the session ends, epoch seconds: the token's expiry or the two-hour limit, whichever is first.
   * Pushes skip a connection past it, so an expired session receives nothing even before it is closed.
   */
  expiresAt?: number;
}

/** One slot of a user's connections: `USER#<id>` / `SLOT#<n>`, n below the per-user cap. */
interface SlotItem {
  pk: string;
  sk: string;
  userId: string;
  connectionId: string;
  connectedAt: string;
  tokenId?: string;
  expiresAt: number;
  /** Presence lease, epoch seconds: the last sign of life plus the presence timeout. */
  aliveUntil?: number;
  /** The last sign of life (connect or a frame that renewed the lease), ISO-8601. */
  lastActiveAt?: string;
}

interface Deps {
  client?: DocClient;
  tableName?: string;
  /** Per-user cap; defaults to `config().connections.maxPerUser`. */
  maxPerUser?: number;
}

const USER_PREFIX = 'USER#';
const SLOT_PREFIX = 'SLOT#';
const slotKey = (userId: string, slot: number) => ({
  pk: `${USER_PREFIX}${userId}`,
  sk: `${SLOT_PREFIX}${slot}`,
});
const metaKey = (connectionId: string) => ({ pk: `CONN#${connectionId}`, sk: 'META' });

/** Partitions of the `expiring` index, so that no single index partition takes every connect's write. */
export const EXPIRY_SHARDS = 4;

/** The shard of a connection in the `expiring` index (stable: a hash of its id). */
export function expiryShardOf(connectionId: string): string {
  let h = 0;
  for (let i = 0; i < connectionId.length; i++) h = (h * 31 + connectionId.charCodeAt(i)) >>> 0;
  return String(h % EXPIRY_SHARDS);
}
const presenceKey = (userId: string) => ({ pk: `${USER_PREFIX}${userId}`, sk: 'PRESENCE' });
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** Users whose connections are read at once by a fan-out. */
const LIST_CONCURRENCY = 16;

export type SaveConnectionResult = { ok: true } | { ok: false; reason: 'limit' };

/**
 * Records a live connection in a free slot of its user (at most `maxPerUser` slots, so one user's
 * connections are a handful of small items, none rewritten by another connect) and in its own item
 * (connection to user, slot), atomically, both with a TTL. A slot whose entry expired counts as free.
 * `limit` when every slot holds a live connection, or when the user's own concurrent connects kept
 * taking the free slots first: the caller refuses the upgrade (429).
 */
export async function saveConnection(record: NewConnection, deps: Deps = {}): Promise<SaveConnectionResult> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const max = deps.maxPerUser ?? config().connections.maxPerUser;
  const lifetimeEnd = Math.floor(Date.parse(record.connectedAt) / 1000) + CONNECTION_TTL_SECONDS;
  const expiresAt = Math.min(record.expiresAt ?? lifetimeEnd, lifetimeEnd);
  const { connectionId, userId, connectedAt, tokenId } = record;
  const timeout = config().connections.presenceTimeoutSeconds;
  for (let attempt = 0; attempt < 8; attempt++) {
    // Lost a race for a slot: another connect of the same user took it. Jitter, then look again.
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    const now = nowSeconds();
    const taken = new Set(
      (await querySlots(client, tableName, userId)).filter((s) => s.expiresAt > now).map((s) => s.sk),
    );
    const free = Array.from({ length: max }, (_, n) => n).filter((n) => !taken.has(`${SLOT_PREFIX}${n}`));
    if (free.length === 0) return { ok: false, reason: 'limit' };
    // A random free slot, so concurrent connects of one user seldom race for the same one.
    const slot = free[Math.floor(Math.random() * free.length)] as number;
    try {
      await client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: tableName,
                Item: {
                  ...slotKey(userId, slot),
                  userId,
                  connectionId,
                  connectedAt,
                  tokenId,
                  expiresAt,
                  aliveUntil: now + timeout,
                  lastActiveAt: new Date(now * 1000).toISOString(),
                },
                ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
                ExpressionAttributeValues: { ':now': now },
              },
            },
            {
              Put: {
                TableName: tableName,
                Item: {
                  ...metaKey(connectionId),
                  userId,
                  connectionId,
                  connectedAt,
                  slot,
                  expiresAt,
                  expiryShard: expiryShardOf(connectionId),
                  ...(record.expiresAt === undefined ? {} : { tokenExpiresAt: record.expiresAt }),
                },
              },
            },
          ],
        }),
      );
      return { ok: true };
    } catch (err) {
      if (!cancellationReasons(err)) throw err;
    }
  }
  // Only one user's own burst of connects races like this: refuse it as over the cap, not as a 5xx.
  return { ok: false, reason: 'limit' };
}

/**
 * Removes a connection from both places; a connection already gone is not an error. With
 * `connectedBefore` (epoch ms), a connection recorded at or after that time is kept (undefined).
 */
export async function deleteConnection(
  connectionId: string,
  deps: Deps = {},
  options: { connectedBefore?: number } = {},
): Promise<ConnectionRecord | undefined> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const meta = await client.send(
    new GetCommand({ TableName: tableName, Key: metaKey(connectionId), ConsistentRead: true }),
  );
  const record = meta.Item as (ConnectionRecord & { slot?: number }) | undefined;
  if (!record) return undefined;
  if (options.connectedBefore !== undefined && Date.parse(record.connectedAt) >= options.connectedBefore)
    return undefined;
  const deleteMeta = { Delete: { TableName: tableName, Key: metaKey(connectionId) } };
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          deleteMeta,
          {
            Delete: {
              TableName: tableName,
              Key: slotKey(record.userId, record.slot ?? -1),
              // The slot may already hold a newer connection (this one expired): leave that one alone.
              ConditionExpression: 'attribute_not_exists(pk) OR connectionId = :c',
              ExpressionAttributeValues: { ':c': connectionId },
            },
          },
        ],
      }),
    );
  } catch (err) {
    if (!cancellationReasons(err)) throw err;
    await client.send(new TransactWriteCommand({ TransactItems: [deleteMeta] }));
  }
  return { connectionId, userId: record.userId, connectedAt: record.connectedAt };
}

async function querySlots(client: DocClient, tableName: string, userId: string): Promise<SlotItem[]> {
  const res = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :slot)',
      ExpressionAttributeValues: { ':pk': `${USER_PREFIX}${userId}`, ':slot': SLOT_PREFIX },
      ConsistentRead: true,
    }),
  );
  return (res.Items ?? []) as SlotItem[];
}

function live(slots: SlotItem[], now: number): ConnectionRecord[] {
  // TTL deletion is lazy; an entry past its expiry is a session that already ended.
  return slots
    .filter((s) => s.expiresAt > now)
    .map((s) => ({
      connectionId: s.connectionId,
      userId: s.userId,
      connectedAt: s.connectedAt,
      ...(s.tokenId ? { tokenId: s.tokenId } : {}),
    }));
}

/** Every live connection of a user, read strongly consistently (one small Query). */
export async function listUserConnections(userId: string, deps: Deps = {}): Promise<ConnectionRecord[]> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  return live(await querySlots(client, tableName, userId), nowSeconds());
}

/** Every live connection of many users: one small strongly consistent Query per user, 16 at a time. */
export async function listConnectionsOfUsers(
  userIds: readonly string[],
  deps: Deps = {},
): Promise<ConnectionRecord[]> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const users = [...new Set(userIds)];
  const out: ConnectionRecord[] = [];
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const userId = users[next++] as string;
      out.push(...live(await querySlots(client, tableName, userId), nowSeconds()));
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, users.length) }, worker));
  return out;
}

/** A connection whose session has ended, as the `expiring` index holds it. */
export interface EndedConnection {
  connectionId: string;
  userId: string;
  /** When the session ended, epoch seconds (the token's expiry or the two-hour limit). */
  expiresAt: number;
  /** The token's expiry, epoch seconds, when the connection was opened with one that carries it. */
  tokenExpiresAt?: number;
}

/**
 * Connections whose session ended at or before `now` (epoch seconds), oldest first, at most `limit` per
 * shard, read from the sparse `expiring` index (eventually consistent: a connection removed a moment ago
 * may still appear, and removing it again is harmless).
 */
export async function listEndedConnections(
  now: number,
  options: { limit?: number } & Deps = {},
): Promise<EndedConnection[]> {
  const { client = defaultClient, tableName = config().tables.connections, limit = 500 } = options;
  const shards = await Promise.all(
    Array.from({ length: EXPIRY_SHARDS }, async (_, n) => {
      const res = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: EXPIRING_CONNECTIONS_INDEX,
          KeyConditionExpression: 'expiryShard = :shard AND expiresAt <= :now',
          ExpressionAttributeValues: { ':shard': String(n), ':now': now },
          Limit: limit,
        }),
      );
      return (res.Items ?? []) as EndedConnection[];
    }),
  );
  return shards.flat().map((c) => ({
    connectionId: c.connectionId,
    userId: c.userId,
    expiresAt: c.expiresAt,
    ...(typeof c.tokenExpiresAt === 'number' ? { tokenExpiresAt: c.tokenExpiresAt } : {}),
  }));
}

/** A connection counts for presence while its session and its presence lease both run. */
const present = (s: SlotItem, now: number) => s.expiresAt > now && (s.aliveUntil ?? s.expiresAt) > now;

export type PresenceStatus = 'online' | 'offline';

/** The stored presence of a user: `USER#<id>` / `PRESENCE`, changed only by `reconcilePresence`. */
export interface PresenceItem {
  status: PresenceStatus;
  /** Advances with every change; orders `presence` events. */
  version: number;
  /** When the user was last online (set when going offline), ISO-8601. */
  lastSeenAt?: string;
}

/** A user's presence as computed now from the connections' leases. */
export interface PresenceNow {
  status: PresenceStatus;
  /** When last online; null when never seen (and always null while online). */
  lastSeenAt: string | null;
  version: number;
}

const latest = (a: string | undefined, b: string | undefined) => (!a ? b : !b ? a : a > b ? a : b);

function presenceFrom(slots: SlotItem[], item: PresenceItem | undefined, now: number): PresenceNow {
  if (slots.some((s) => present(s, now)))
    return { status: 'online', lastSeenAt: null, version: item?.version ?? 0 };
  // Expired entries linger until the TTL deletes them: their last sign of life may be newer.
  const lastActive = slots.map((s) => s.lastActiveAt).reduce(latest, undefined);
  return {
    status: 'offline',
    lastSeenAt: latest(item?.lastSeenAt, lastActive) ?? null,
    version: item?.version ?? 0,
  };
}

async function getPresenceItem(client: DocClient, tableName: string, userId: string) {
  const res = await client.send(
    new GetCommand({ TableName: tableName, Key: presenceKey(userId), ConsistentRead: true }),
  );
  return res.Item as PresenceItem | undefined;
}

/** The presence of many users now, from their connections' leases (one Query and one read each). */
export async function readPresence(
  userIds: readonly string[],
  deps: Deps = {},
): Promise<Map<string, PresenceNow>> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const users = [...new Set(userIds)];
  const items = new Map(
    (
      await batchGetAll<PresenceItem & { pk: string }>(
        client,
        tableName,
        users.map((u) => presenceKey(u)),
      )
    ).map((item) => [item.pk.slice(USER_PREFIX.length), item]),
  );
  const out = new Map<string, PresenceNow>();
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const userId = users[next++] as string;
      const slots = await querySlots(client, tableName, userId);
      out.set(userId, presenceFrom(slots, items.get(userId), nowSeconds()));
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, users.length) }, worker));
  return out;
}

/** A change of the stored presence that this call made. */
export interface PresenceTransition {
  status: PresenceStatus;
  version: number;
  lastSeenAt: string | null;
}

/**
 * Removes a user's stored presence (`USER#<id>` / `PRESENCE`): a deleted account shows no last-seen
 * time. Idempotent.
 */
export async function deletePresence(userId: string, deps: Deps = {}): Promise<void> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  await client.send(new DeleteCommand({ TableName: tableName, Key: presenceKey(userId) }));
}

/**
 * Brings the stored presence in line with the user's connections, and returns the changes this call
 * made (usually none; one when the first connection opened or the last one closed or expired). Each
 * change is a conditional write on the version read, and after a change the connections are read
 * again: so when connects and disconnects of one user race, the last of them always leaves the stored
 * status right, and only the calls that change it report (no event per connection of a busy user).
 * `seenAt`: when a connection that just closed was last alive (the disconnect's time).
 * Connects and disconnects themselves never write this item, so they never contend on it.
 */
export async function reconcilePresence(
  userId: string,
  options: { seenAt?: string } = {},
  deps: Deps = {},
): Promise<PresenceTransition[]> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const changes: PresenceTransition[] = [];
  for (let round = 0; round < 6; round++) {
    const item = await getPresenceItem(client, tableName, userId);
    const now = presenceFrom(await querySlots(client, tableName, userId), item, nowSeconds());
    const stored = item?.status ?? 'offline';
    if (now.status === stored) return changes;
    const version = (item?.version ?? 0) + 1;
    // Going offline: last seen when the last connection closed (`seenAt`) or last showed life.
    const lastSeenAt =
      now.status === 'offline'
        ? (latest(options.seenAt, now.lastSeenAt ?? undefined) ?? new Date().toISOString())
        : (item?.lastSeenAt ?? null);
    try {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: presenceKey(userId),
          UpdateExpression: 'SET #status = :status, version = :version, lastSeenAt = :seen',
          ConditionExpression: item ? 'version = :read' : 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': now.status,
            ':version': version,
            ':seen': lastSeenAt,
            ...(item ? { ':read': item.version } : {}),
          },
        }),
      );
      changes.push({ status: now.status, version, lastSeenAt: now.status === 'online' ? null : lastSeenAt });
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
  }
  return changes;
}

/**
 * Renews a connection's presence lease (its slot entry) after a sign of life. Returns true when the
 * lease had already run out, i.e. the user may have been shown offline and presence must be
 * reconciled. A connection not (or no longer) recorded is left alone.
 */
export async function renewPresenceLease(
  connectionId: string,
  deps: Deps = {},
): Promise<{ userId: string; wasExpired: boolean } | undefined> {
  const { client = defaultClient, tableName = config().tables.connections } = deps;
  const meta = await client.send(
    new GetCommand({ TableName: tableName, Key: metaKey(connectionId), ConsistentRead: true }),
  );
  const record = meta.Item as { userId: string; slot?: number } | undefined;
  if (!record || record.slot === undefined) return undefined;
  const now = nowSeconds();
  try {
    const res = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: slotKey(record.userId, record.slot),
        UpdateExpression: 'SET aliveUntil = :alive, lastActiveAt = :at',
        ConditionExpression: 'connectionId = :c',
        ExpressionAttributeValues: {
          ':alive': now + config().connections.presenceTimeoutSeconds,
          ':at': new Date(now * 1000).toISOString(),
          ':c': connectionId,
        },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    const before = res.Attributes?.aliveUntil as number | undefined;
    return { userId: record.userId, wasExpired: before !== undefined && before <= now };
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw err;
  }
}
