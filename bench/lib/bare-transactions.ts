// The floor the messaging path is compared with: bare one-message TransactWriteItems of the send's shape.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';

export interface BareTables {
  conversations: string;
  members: string;
  messages: string;
  messageGuards: string;
}

export interface BareResult {
  transactionsPerSecond: number;
  /** Latency of each transaction, ms. */
  latencies: number[];
}

/**
 * `workers` concurrent workers, each on a conversation of its own (uncontended), each committing
 * `perWorker` one-message transactions one after another: counter update on condition, message put,
 * guard put, membership check, straight to the engine (no API, no queue).
 */
export async function bareTransactions(
  endpoint: string,
  tables: BareTables,
  workers: number,
  perWorker: number,
): Promise<BareResult> {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint }));
  const run = `bare_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const conversationId = `${run}_${w}`;
      await client.send(
        new PutCommand({ TableName: tables.conversations, Item: { conversationId, lastSeq: 0 } }),
      );
      await client.send(
        new PutCommand({ TableName: tables.members, Item: { conversationId, userId: `w${w}` } }),
      );
    }),
  );
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const conversationId = `${run}_${w}`;
      for (let seq = 1; seq <= perWorker; seq++) {
        const t0 = performance.now();
        await client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: tables.conversations,
                  Key: { conversationId },
                  UpdateExpression: 'SET lastSeq = :seq',
                  ConditionExpression: 'lastSeq = :prev',
                  ExpressionAttributeValues: { ':seq': seq, ':prev': seq - 1 },
                },
              },
              {
                Put: {
                  TableName: tables.messages,
                  Item: { conversationId, seq, senderId: `w${w}`, text: 'bare', version: 1 },
                  ConditionExpression: 'attribute_not_exists(seq)',
                },
              },
              {
                Put: {
                  TableName: tables.messageGuards,
                  Item: { conversationId, guardKey: `w${w}#${seq}`, seq },
                  ConditionExpression: 'attribute_not_exists(guardKey)',
                },
              },
              {
                ConditionCheck: {
                  TableName: tables.members,
                  Key: { conversationId, userId: `w${w}` },
                  ConditionExpression: 'attribute_exists(userId)',
                },
              },
            ],
          }),
        );
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  client.destroy();
  return { transactionsPerSecond: (workers * perWorker) / (elapsedMs / 1000), latencies };
}
