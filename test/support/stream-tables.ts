import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unique } from './tables.js';

/**
 * A fresh table keyed by `pk` (string) with a NEW_AND_OLD_IMAGES stream, for the stream trigger tests;
 * returns its name and stream ARN.
 */
export async function createStreamTable(
  client: DynamoDBClient,
  prefix: string,
): Promise<{ name: string; streamArn: string }> {
  const name = unique(prefix);
  const out = await client.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  return { name, streamArn: out.TableDescription?.LatestStreamArn as string };
}
