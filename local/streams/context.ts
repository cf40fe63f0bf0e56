// What every stream mapping shares: resolved options, the AWS SDK clients (DynamoDB, DynamoDB Streams, one
// SQS client per queue endpoint), the checkpoint store, the log and the stop switch.
import { setMaxListeners } from 'node:events';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CheckpointStore } from './checkpoint.js';
import { Signal } from './signal.js';
import type { StreamLog, StreamTriggerOptions } from './trigger-options.js';

/** The largest Limit GetRecords accepts (DynamoDB Streams API reference). */
export const GET_RECORDS_MAX = 1000;

/** What every mapping shares: options, clients, the checkpoint store, the stop switch. */
export class Context {
  readonly abort = new AbortController();
  stopping = false;
  readonly region: string;
  readonly accountId: string;
  readonly pollIntervalMs: number;
  readonly idlePollIntervalMs: number;
  readonly discoveryIntervalMs: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly store: CheckpointStore;
  readonly log: StreamLog;
  private readonly sqsClients = new Map<string, SQSClient>();
  private readonly owned: Array<{ destroy(): void }> = [];

  constructor(readonly options: StreamTriggerOptions) {
    setMaxListeners(0, this.abort.signal);
    this.region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.idlePollIntervalMs = Math.max(this.pollIntervalMs, options.idlePollIntervalMs ?? 100);
    this.discoveryIntervalMs = options.discoveryIntervalMs ?? 2000;
    this.backoff = options.retryBackoff ?? { initialMs: 20, maxMs: 1000 };
    this.log = options.log ?? defaultLog;
    const config = {
      endpoint: options.dynamoEndpoint,
      region: this.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    this.dynamodb = options.clients?.dynamodb ?? this.own(new DynamoDBClient(config));
    this.streams = options.clients?.streams ?? this.own(new DynamoDBStreamsClient(config));
    this.store = new CheckpointStore(options.checkpointDir, options.checkpointDelayMs ?? 100, (err) =>
      this.log('error', `checkpoint: ${errorMessage(err)}`),
    );
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  sqsFor(queueUrl: string): SQSClient {
    if (this.options.clients?.sqs) return this.options.clients.sqs;
    const origin = new URL(queueUrl).origin;
    let client = this.sqsClients.get(origin);
    if (!client) {
      client = this.own(
        new SQSClient({
          endpoint: origin,
          region: this.region,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
      );
      this.sqsClients.set(origin, client);
    }
    return client;
  }

  sleep(ms: number): Promise<void> {
    return new Signal(this.abort.signal).wait(ms);
  }

  destroy(): void {
    for (const client of this.owned) client.destroy();
  }

  private own<T extends { destroy(): void }>(client: T): T {
    this.owned.push(client);
    return client;
  }
}

const defaultLog: StreamLog = (level, message) => {
  if (level === 'error') console.error(`[streams] ${message}`);
  else if (level === 'warn') console.warn(`[streams] ${message}`);
  else if (process.env.CHAT_STREAMS_DEBUG) console.info(`[streams] ${level}: ${message}`);
};

/** A one-line description of a thrown value for the log. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`;
  return String(err);
}
