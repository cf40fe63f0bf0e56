import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { config } from '../config/env.js';

/** One strongly consistent read of a key that never exists: proves the table answers. */
export async function pingDatabase(deps: { client?: DocClient; tableName?: string } = {}): Promise<void> {
  const { client = defaultClient, tableName = config().tables.users } = deps;
  await client.send(
    new GetCommand({ TableName: tableName, Key: { userId: '__health__' }, ConsistentRead: true }),
  );
}
