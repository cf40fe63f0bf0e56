// The options of the local stream triggers: what the runtime passes in (template, invoker, engine endpoints,
// local names of tables and queues, poll and retry tunables) and the lookup of a local name by logical id.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { CfnTemplate } from '#infra/synth.js';
import type { StreamMapping } from './mappings.js';
import type { StreamEvent } from './records.js';

/** Invokes a function of the template; `LocalLambdas.invoke` fits. A throw is a function error. */
export type StreamInvoker = (functionId: string, event: StreamEvent) => Promise<unknown>;

export type StreamLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface StreamTriggerOptions {
  readonly template: CfnTemplate;
  readonly invoke: StreamInvoker;
  /** The DynamoDB engine; its streams API answers on the same endpoint. */
  readonly dynamoEndpoint: string;
  /** Table logical id → local table name. Mappings on tables missing here are an error. */
  readonly tableNames: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /** Queue logical id → local queue URL (ElasticMQ), for on-failure destinations. */
  readonly queueUrls?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /** Where checkpoints persist (one JSON file per mapping); undefined: in memory only. */
  readonly checkpointDir?: string;
  /** Region in event records and ARNs; default AWS_REGION or us-east-1. */
  readonly region?: string;
  readonly accountId?: string;
  /** Only run the mappings this accepts (e.g. those whose function the runtime can load). */
  readonly include?: (mapping: StreamMapping) => boolean;
  /**
   * Delay between polls of a shard that is at its tip while records came in the last 10 s; default 50 ms.
   * A full page is followed at once.
   */
  readonly pollIntervalMs?: number;
  /** Delay between polls of a shard that has been quiet for 10 s; default 100 ms. */
  readonly idlePollIntervalMs?: number;
  /** How often shards are listed again (DescribeStream) to find new ones; default 2000 ms. */
  readonly discoveryIntervalMs?: number;
  /** Backoff before retries of a failed batch; default 20 ms doubling up to 1000 ms. */
  readonly retryBackoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Delay before a checkpoint change is written to disk (writes are coalesced); default 100 ms. */
  readonly checkpointDelayMs?: number;
  readonly log?: StreamLog;
  /** Clients to use instead of ones built from the endpoints (tests). */
  readonly clients?: {
    readonly dynamodb?: DynamoDBClient;
    readonly streams?: DynamoDBStreamsClient;
    readonly sqs?: SQSClient;
  };
}

/** The local name (table name, queue URL) of a logical id; undefined when the map has none. */
export function lookup(
  map: Readonly<Record<string, string>> | ReadonlyMap<string, string> | undefined,
  key: string,
): string | undefined {
  if (!map) return undefined;
  if (map instanceof Map) return map.get(key);
  return Object.hasOwn(map, key) ? (map as Record<string, string>)[key] : undefined;
}
