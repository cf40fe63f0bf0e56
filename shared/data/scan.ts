import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DocClient } from '../clients/dynamodb.js';

/** Every item of a table, strongly consistent; for checkers and operations, never for request paths. */
export async function scanTable<T = Record<string, unknown>>(
  client: DocClient,
  tableName: string,
): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...((page.Items ?? []) as T[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every page of a query, strongly consistent unless `consistent: false`. */
export async function queryAll<T>(
  client: DocClient,
  input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'ConsistentRead' | 'ExclusiveStartKey'>,
  options: { consistent?: boolean } = {},
): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({ ...input, ConsistentRead: options.consistent ?? true, ExclusiveStartKey: start }),
    );
    items.push(...((page.Items ?? []) as T[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
