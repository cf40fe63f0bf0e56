import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';

/** A scheduled job's saved position: its state and a revision that every save bumps. */
export interface StoredCursor<T> {
  readonly state: T;
  /** 0 when the job never saved one. */
  readonly revision: number;
}

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
}
const env = (deps: Deps) => ({ client: deps.client ?? defaultClient, t: deps.tables ?? config().tables });

/** Reads a job's cursor (strongly consistent: the last run's save must be seen); undefined state when none. */
export async function readCursor<T>(job: string, deps: Deps = {}): Promise<StoredCursor<T | undefined>> {
  const { client, t } = env(deps);
  const res = await client.send(new GetCommand({ TableName: t.cursors, Key: { job }, ConsistentRead: true }));
  if (!res.Item) return { state: undefined, revision: 0 };
  return { state: res.Item.state as T, revision: Number(res.Item.revision) };
}

/**
 * Saves a job's cursor over the revision it read. Returns the new revision, or undefined when another
 * run saved in between (two overlapping invocations): the caller then stops, leaving the work to it.
 */
export async function saveCursor<T>(
  job: string,
  state: T,
  revision: number,
  deps: Deps = {},
): Promise<number | undefined> {
  const { client, t } = env(deps);
  try {
    await client.send(
      new PutCommand({
        TableName: t.cursors,
        Item: { job, state, revision: revision + 1, savedAt: new Date().toISOString() },
        ConditionExpression: revision === 0 ? 'attribute_not_exists(job)' : 'revision = :r',
        ExpressionAttributeValues: revision === 0 ? undefined : { ':r': revision },
      }),
    );
    return revision + 1;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return undefined;
    throw err;
  }
}
