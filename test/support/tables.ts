import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config } from '#shared/config/env.js';
import type { TableName } from '#shared/config/table-names.js';
import { scanTable } from '#shared/data/scan.js';

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

/** Every item of a table (consistent scan), for invariant checks after concurrent tests. */
export function scanAll(table: TableName): Promise<Record<string, any>[]> {
  // Its own client: unit tests that mock the shared one must not affect table read-backs.
  return scanTable<Record<string, any>>(client, config().tables[table]);
}

/** A unique suffix per test, so tests never see each other's data. */
export const unique = (prefix = 'u') =>
  `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
