import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { localTableName } from './environment.js';
import type { Topology } from './topology.js';

/** Creates every table of the template that does not exist yet (a persistent DATA_DIR keeps its tables). */
export async function ensureTables(client: DynamoDBClient, topology: Topology): Promise<string[]> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) existing.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);

  const created: string[] = [];
  await Promise.all(
    [...topology.tables].map(async ([logicalId, resource]) => {
      const name = localTableName(logicalId);
      const p = (resource.Properties ?? {}) as Record<string, unknown>;
      if (existing.has(name)) return addMissingIndexes(client, name, p);
      const stream = p.StreamSpecification as { StreamViewType?: string } | undefined;
      const input: CreateTableCommandInput = {
        TableName: name,
        KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
        AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
        GlobalSecondaryIndexes: p.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'],
        LocalSecondaryIndexes: p.LocalSecondaryIndexes as CreateTableCommandInput['LocalSecondaryIndexes'],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: stream?.StreamViewType
          ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as 'NEW_AND_OLD_IMAGES' }
          : undefined,
      };
      await client.send(new CreateTableCommand(input));
      const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
      if (ttl?.AttributeName && ttl.Enabled !== false) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
          }),
        );
      }
      created.push(name);
    }),
  );
  return created;
}

type IndexSpec = NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']>[number];

/**
 * A table kept from an earlier run (a persistent DATA_DIR) gets the global secondary indexes the
 * template added since, as CloudFormation adds them on an update.
 */
async function addMissingIndexes(
  client: DynamoDBClient,
  name: string,
  properties: Record<string, unknown>,
): Promise<void> {
  const wanted = (properties.GlobalSecondaryIndexes as IndexSpec[] | undefined) ?? [];
  if (wanted.length === 0) return;
  const described = await client.send(new DescribeTableCommand({ TableName: name }));
  const present = new Set((described.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  for (const index of wanted) {
    if (present.has(index.IndexName)) continue;
    try {
      await client.send(
        new UpdateTableCommand({
          TableName: name,
          AttributeDefinitions:
            properties.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
          GlobalSecondaryIndexUpdates: [{ Create: index }],
        }),
      );
    } catch (err) {
      console.error(`tables: could not add index ${index.IndexName} to ${name}: ${(err as Error).message}`);
    }
  }
}
