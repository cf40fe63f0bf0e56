import { AttributeType, BillingMode, StreamViewType, Table, type TableProps } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  EXPIRING_CONNECTIONS_INDEX,
  type TableName,
  tableNames,
  UNFINISHED_OPERATIONS_INDEX,
} from '#shared/config/table-names.js';
import type { StageConfig } from './stage.js';

const S = AttributeType.STRING;
const N = AttributeType.NUMBER;

type KeySpec = Pick<TableProps, 'partitionKey' | 'sortKey' | 'stream' | 'timeToLiveAttribute'> & {
  /** Global secondary indexes (all attributes projected). */
  readonly indexes?: ReadonlyArray<{
    readonly indexName: string;
    readonly partitionKey: { name: string; type: AttributeType };
    readonly sortKey?: { name: string; type: AttributeType };
  }>;
};

const specs: Record<TableName, KeySpec> = {
  // Streams feed the search index (users by name, messages by text).
  users: { partitionKey: { name: 'userId', type: S }, stream: StreamViewType.NEW_AND_OLD_IMAGES },
  // Guard item per lower-cased username: the uniqueness constraint.
  usernames: { partitionKey: { name: 'username', type: S } },
  // REQ#<id>/REQ holds a request; USER#<id>/IN#<other> and OUT#<other> are the pending views.
  friendRequests: { partitionKey: { name: 'pk', type: S }, sortKey: { name: 'sk', type: S } },
  friendships: { partitionKey: { name: 'userId', type: S }, sortKey: { name: 'friendId', type: S } },
  // <userId> blocks <blockedId>: read by key in the same transactions that befriend.
  blocks: { partitionKey: { name: 'userId', type: S }, sortKey: { name: 'blockedId', type: S } },
  conversations: { partitionKey: { name: 'conversationId', type: S } },
  members: { partitionKey: { name: 'conversationId', type: S }, sortKey: { name: 'userId', type: S } },
  // Per-user view of memberships, written in the same transaction as the membership.
  userConversations: {
    partitionKey: { name: 'userId', type: S },
    sortKey: { name: 'conversationId', type: S },
  },
  messages: {
    partitionKey: { name: 'conversationId', type: S },
    sortKey: { name: 'seq', type: N },
    stream: StreamViewType.NEW_AND_OLD_IMAGES,
  },
  // <senderId>#<clientMessageId> per conversation: a retried send finds the stored message. A refused
  // send leaves a short-lived rejection here (TTL) so that the request waiting for it learns why.
  messageGuards: {
    partitionKey: { name: 'conversationId', type: S },
    sortKey: { name: 'guardKey', type: S },
    timeToLiveAttribute: 'expiresAt',
  },
  // Change-aware sync: per conversation, the head item (changeSeq 0) holds the last change number; one
  // row per changed message at its latest change number, so `changeSeq > token` lists what changed.
  messageChanges: {
    partitionKey: { name: 'conversationId', type: S },
    sortKey: { name: 'changeSeq', type: N },
  },
  // One item per reaction: <conversationId>#<userId> / <seq, 12 digits>#<emoji>. Its existence is the
  // one-per-emoji-per-user rule; a user's reactions on a page of history are one query.
  reactions: {
    partitionKey: { name: 'reactorKey', type: S },
    sortKey: { name: 'reactionKey', type: S },
  },
  // Three item kinds (keys built only by shared/data/connections-repo.ts): USER#<id>/SLOT#<n> holds one
  // of a user's live connections (n below the per-user cap) with its presence lease; CONN#<id>/META maps
  // a connection back to its user and slot; USER#<id>/PRESENCE is the user's stored presence (no TTL).
  // Only META items carry `expiryShard`, so the sparse index `expiring` holds one entry per connection,
  // sorted by session end: the session sweeper reads the ended ones there.
  connections: {
    partitionKey: { name: 'pk', type: S },
    sortKey: { name: 'sk', type: S },
    timeToLiveAttribute: 'expiresAt',
    indexes: [
      {
        indexName: EXPIRING_CONNECTIONS_INDEX,
        partitionKey: { name: 'expiryShard', type: S },
        sortKey: { name: 'expiresAt', type: N },
      },
    ],
  },
  // Layout expected by Lambda Powertools' idempotency persistence.
  idempotency: { partitionKey: { name: 'id', type: S }, timeToLiveAttribute: 'expiration' },
  // Finished operations expire (TTL). Unfinished ones carry `unfinishedShard`, so the sparse index
  // `unfinished` holds only them: the operations reconciler reads it, never the whole table.
  operations: {
    partitionKey: { name: 'operationId', type: S },
    timeToLiveAttribute: 'expiresAt',
    indexes: [
      {
        indexName: UNFINISHED_OPERATIONS_INDEX,
        partitionKey: { name: 'unfinishedShard', type: S },
        sortKey: { name: 'updatedAt', type: S },
      },
    ],
  },
  // One token bucket per key (`send#<userId>`, `frames#<connectionId>`); idle buckets expire.
  rateLimits: { partitionKey: { name: 'bucketKey', type: S }, timeToLiveAttribute: 'expiresAt' },
  // Where each scheduled job (the reconcilers) stopped, so that the next run resumes there.
  cursors: { partitionKey: { name: 'job', type: S } },
};

/** Declares all tables with the stage's removal policy, on-demand billing and point-in-time recovery. */
export class ChatTables extends Construct {
  readonly byName: Record<TableName, Table>;

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    const byName = {} as Record<TableName, Table>;
    for (const name of tableNames) {
      const logicalName = `${name[0]?.toUpperCase()}${name.slice(1)}`;
      const { indexes, ...keys } = specs[name];
      const table = new Table(this, logicalName, {
        ...keys,
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: stage.deletionProtection,
        removalPolicy: stage.removalPolicy,
      });
      for (const index of indexes ?? []) table.addGlobalSecondaryIndex(index);
      byName[name] = table;
    }
    this.byName = byName;
  }
}
