import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { scanTable } from './scan.js';

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
  try {
    await client.send(
      new PutCommand({
        TableName: t.operations,
        Item: op,
        ConditionExpression: 'attribute_not_exists(operationId)',
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
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
 * can never overwrite a newer outcome. Returns false when the condition did not hold.
 */
export async function setOperationStatus(
  operationId: string,
  status: OperationStatus,
  error: string | null,
  from: readonly OperationStatus[],
  deps: Deps = {},
): Promise<boolean> {
  const { client, t } = env(deps);
  const values: Record<string, unknown> = { ':s': status, ':e': error, ':now': new Date().toISOString() };
  from.forEach((f, i) => {
    values[`:f${i}`] = f;
  });
  try {
    await client.send(
      new UpdateCommand({
        TableName: t.operations,
        Key: { operationId },
        UpdateExpression: 'SET #status = :s, #error = :e, updatedAt = :now',
        ConditionExpression: `#status IN (${from.map((_, i) => `:f${i}`).join(', ')})`,
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
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

/** Every operation (the reconciler's view; operations are few and short-lived). */
export async function listOperations(deps: Deps = {}): Promise<OperationItem[]> {
  const { client, t } = env(deps);
  return scanTable<OperationItem>(client, t.operations);
}
