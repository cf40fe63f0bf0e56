import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { UNFINISHED_OPERATIONS_INDEX } from '../config/table-names.js';
import { conditionalWrite } from './transactions.js';

export type OperationType = 'createGroup' | 'deleteAccount';
export type OperationStatus = 'running' | 'succeeded' | 'failed' | 'compensated';

export interface OperationItem {
  operationId: string;
  type: OperationType;
  /** Who asked for it; only they may read it. */
  userId: string;
  status: OperationStatus;
  error: string | null;
  /** The saga's input, kept so that the reconciler can run it again. */
  input: Record<string, unknown>;
  /** How many executions were started for it (the reconciler starts new ones under new names). */
  executions: number;
  createdAt: string;
  updatedAt: string;
  /** Present while the operation is unfinished: its partition of the sparse `unfinished` index. */
  unfinishedShard?: string;
  /** Epoch seconds after which a finished operation expires (DynamoDB TTL). */
  expiresAt?: number;
}

/** Partitions of the `unfinished` index, so that no single index partition takes every operation's writes. */
export const UNFINISHED_SHARDS = 4;
/** How long a finished operation stays readable (`GET /operations/{id}`) before DynamoDB's TTL removes it. */
export const FINISHED_OPERATION_TTL_SECONDS = 30 * 24 * 3600;
const FINISHED: readonly OperationStatus[] = ['succeeded', 'compensated'];

/** The shard of an operation in the `unfinished` index (stable: a hash of its id). */
export function unfinishedShardOf(operationId: string): string {
  let h = 0;
  for (let i = 0; i < operationId.length; i++) h = (h * 31 + operationId.charCodeAt(i)) >>> 0;
  return String(h % UNFINISHED_SHARDS);
}

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
}
const env = (deps: Deps) => ({ client: deps.client ?? defaultClient, t: deps.tables ?? config().tables });

/**
 * Records an operation before its execution starts, so a crash in between leaves a trace to repair.
 * Returns false, writing nothing, when an operation with this id already exists.
 */
export async function createOperation(op: OperationItem, deps: Deps = {}): Promise<boolean> {
  const { client, t } = env(deps);
  return conditionalWrite(
    client,
    new PutCommand({
      TableName: t.operations,
      Item: { ...op, unfinishedShard: unfinishedShardOf(op.operationId) },
      ConditionExpression: 'attribute_not_exists(operationId)',
    }),
  );
}

export async function getOperation(operationId: string, deps: Deps = {}): Promise<OperationItem | undefined> {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({ TableName: t.operations, Key: { operationId }, ConsistentRead: true }),
  );
  return res.Item as OperationItem | undefined;
}

/**
 * Moves an operation to a final (or back to running) status; only from one of `from`, so a late step
 * can never overwrite a newer outcome. A final status (succeeded, compensated) leaves the `unfinished`
 * index and sets the expiry; any other status stays in (or comes back to) it. Returns false when the
 * condition did not hold.
 */
export async function setOperationStatus(
  operationId: string,
  status: OperationStatus,
  error: string | null,
  from: readonly OperationStatus[],
  deps: Deps = {},
): Promise<boolean> {
  const { client, t } = env(deps);
  const finished = FINISHED.includes(status);
  const values: Record<string, unknown> = { ':s': status, ':e': error, ':now': new Date().toISOString() };
  if (finished) values[':exp'] = Math.floor(Date.now() / 1000) + FINISHED_OPERATION_TTL_SECONDS;
  else values[':shard'] = unfinishedShardOf(operationId);
  from.forEach((f, i) => {
    values[`:f${i}`] = f;
  });
  return conditionalWrite(
    client,
    new UpdateCommand({
      TableName: t.operations,
      Key: { operationId },
      UpdateExpression: finished
        ? 'SET #status = :s, #error = :e, updatedAt = :now, expiresAt = :exp REMOVE unfinishedShard'
        : 'SET #status = :s, #error = :e, updatedAt = :now, unfinishedShard = :shard REMOVE expiresAt',
      ConditionExpression: `#status IN (${from.map((_, i) => `:f${i}`).join(', ')})`,
      ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
      ExpressionAttributeValues: values,
    }),
  );
}

/** Counts a new execution of the operation and returns its number (used in the execution's name). */
export async function nextExecution(operationId: string, deps: Deps = {}): Promise<number> {
  const { client, t } = env(deps);
  const res = await client.send(
    new UpdateCommand({
      TableName: t.operations,
      Key: { operationId },
      UpdateExpression: 'ADD executions :one SET updatedAt = :now',
      ConditionExpression: 'attribute_exists(operationId)',
      ExpressionAttributeValues: { ':one': 1, ':now': new Date().toISOString() },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(res.Attributes?.executions);
}

export interface UnfinishedPage {
  readonly operations: OperationItem[];
  /** Where the next page starts; undefined at the end of the shard. */
  readonly next?: Record<string, unknown>;
}

/**
 * One page of a shard of the sparse `unfinished` index (only operations that are not finished are in
 * it), oldest update first, limited to those last updated before `updatedBefore` (ISO time). Index reads
 * are eventually consistent: the reconciler re-checks each operation with a conditional write.
 */
export async function listUnfinishedOperations(
  shard: string,
  options: { updatedBefore: string; limit: number; startKey?: Record<string, unknown> },
  deps: Deps = {},
): Promise<UnfinishedPage> {
  const { client, t } = env(deps);
  const res = await client.send(
    new QueryCommand({
      TableName: t.operations,
      IndexName: UNFINISHED_OPERATIONS_INDEX,
      KeyConditionExpression: 'unfinishedShard = :shard AND updatedAt < :before',
      ExpressionAttributeValues: { ':shard': shard, ':before': options.updatedBefore },
      Limit: options.limit,
      ExclusiveStartKey: options.startKey,
    }),
  );
  return { operations: (res.Items ?? []) as OperationItem[], next: res.LastEvaluatedKey };
}
