import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config/env.js';
import type { TableName } from '#shared/config/table-names.js';

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

/** Every item of a table (consistent scan), for invariant checks after concurrent tests. */
export async function scanAll(table: TableName): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: config().tables[table], ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A unique suffix per test, so tests never see each other's data. */
export const unique = (prefix = 'u') =>
  `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
