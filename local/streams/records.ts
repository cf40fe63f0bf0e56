// Stream records as Lambda delivers them, and the on-failure record Lambda sends to a destination.
import type { AttributeValue, _Record as SdkRecord } from '@aws-sdk/client-dynamodb-streams';

/** DynamoDB JSON as on the wire: binary values base64-encoded. */
export type WireAttributeValue =
  | { S: string }
  | { N: string }
  | { B: string }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] }
  | { M: Record<string, WireAttributeValue> }
  | { L: WireAttributeValue[] }
  | { NULL: boolean }
  | { BOOL: boolean };

export type WireItem = Record<string, WireAttributeValue>;

/** One record of a DynamoDB stream event (`event.Records[i]`), field for field as Lambda sends it. */
export interface StreamEventRecord {
  eventID: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  eventVersion: string;
  eventSource: 'aws:dynamodb';
  awsRegion: string;
  dynamodb: {
    /** Epoch seconds, a number (the SDK would give a Date). */
    ApproximateCreationDateTime?: number;
    Keys?: WireItem;
    NewImage?: WireItem;
    OldImage?: WireItem;
    SequenceNumber: string;
    SizeBytes?: number;
    StreamViewType?: string;
  };
  eventSourceARN: string;
  /** Present on deletions made by TTL: `{type: 'Service', principalId: 'dynamodb.amazonaws.com'}`. */
  userIdentity?: { type?: string; principalId?: string };
}

/** The event a stream-triggered function receives. */
export interface StreamEvent {
  Records: StreamEventRecord[];
}

/** Converts a record of the SDK's GetRecords into the shape of a Lambda event record. */
export function toEventRecord(
  record: SdkRecord,
  context: { readonly region: string; readonly eventSourceArn: string },
): StreamEventRecord {
  const d = record.dynamodb ?? {};
  if (!d.SequenceNumber) throw new Error('Stream record without a sequence number');
  const dynamodb = {} as StreamEventRecord['dynamodb'];
  if (d.ApproximateCreationDateTime !== undefined) {
    dynamodb.ApproximateCreationDateTime = toEpochSeconds(d.ApproximateCreationDateTime);
  }
  if (d.Keys) dynamodb.Keys = toWireItem(d.Keys);
  if (d.NewImage) dynamodb.NewImage = toWireItem(d.NewImage);
  if (d.OldImage) dynamodb.OldImage = toWireItem(d.OldImage);
  dynamodb.SequenceNumber = d.SequenceNumber;
  if (d.SizeBytes !== undefined) dynamodb.SizeBytes = d.SizeBytes;
  if (d.StreamViewType !== undefined) dynamodb.StreamViewType = d.StreamViewType;
  const out: StreamEventRecord = {
    eventID: record.eventID ?? '',
    eventName: (record.eventName ?? 'MODIFY') as StreamEventRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: context.region,
    dynamodb,
    eventSourceARN: context.eventSourceArn,
  };
  if (record.userIdentity) {
    out.userIdentity = { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId };
  }
  return out;
}

function toEpochSeconds(value: Date | number | string): number {
  if (value instanceof Date) return value.getTime() / 1000;
  return Number(value);
}

export function toWireItem(item: Record<string, AttributeValue>): WireItem {
  const out: WireItem = {};
  for (const [name, value] of Object.entries(item)) out[name] = toWireValue(value);
  return out;
}

export function toWireValue(value: AttributeValue): WireAttributeValue {
  const v = value as unknown as Record<string, unknown>;
  if (v.B !== undefined) return { B: base64(v.B as Uint8Array) };
  if (v.BS !== undefined) return { BS: (v.BS as Uint8Array[]).map(base64) };
  if (v.M !== undefined) return { M: toWireItem(v.M as Record<string, AttributeValue>) };
  if (v.L !== undefined) return { L: (v.L as AttributeValue[]).map(toWireValue) };
  if (v.S !== undefined) return { S: v.S as string };
  if (v.N !== undefined) return { N: v.N as string };
  if (v.SS !== undefined) return { SS: v.SS as string[] };
  if (v.NS !== undefined) return { NS: v.NS as string[] };
  if (v.NULL !== undefined) return { NULL: v.NULL as boolean };
  if (v.BOOL !== undefined) return { BOOL: v.BOOL as boolean };
  throw new Error(`Unknown attribute value ${JSON.stringify(value)}`);
}

const base64 = (bytes: Uint8Array | string) =>
  typeof bytes === 'string'
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** The JSON Lambda sends to an on-failure destination of a DynamoDB stream mapping. */
export interface OnFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: string; functionError?: string };
  version: '1.0';
  timestamp: string;
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

export interface OnFailureInput {
  readonly requestId: string;
  readonly functionArn: string;
  readonly condition: FailureCondition;
  readonly approximateInvokeCount: number;
  /** The last invocation's outcome; `functionError` is set when it threw or timed out. */
  readonly functionError?: string;
  readonly shardId: string;
  readonly streamArn: string;
  readonly records: readonly StreamEventRecord[];
  readonly now: Date;
}

export function onFailureRecord(input: OnFailureInput): OnFailureRecord {
  const first = input.records[0];
  const last = input.records[input.records.length - 1];
  if (!first || !last) throw new Error('An on-failure record describes at least one stream record');
  const responseContext: OnFailureRecord['responseContext'] = { statusCode: 200, executedVersion: '$LATEST' };
  if (input.functionError) responseContext.functionError = input.functionError;
  return {
    requestContext: {
      requestId: input.requestId,
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.approximateInvokeCount,
    },
    responseContext,
    version: '1.0',
    timestamp: input.now.toISOString(),
    DDBStreamBatchInfo: {
      shardId: input.shardId,
      startSequenceNumber: first.dynamodb.SequenceNumber,
      endSequenceNumber: last.dynamodb.SequenceNumber,
      approximateArrivalOfFirstRecord: arrival(first),
      approximateArrivalOfLastRecord: arrival(last),
      batchSize: input.records.length,
      streamArn: input.streamArn,
    },
  };
}

/** `2019-11-14T00:13:19Z`: seconds precision, as in Lambda's on-failure records. */
function arrival(record: StreamEventRecord): string {
  const seconds = record.dynamodb.ApproximateCreationDateTime ?? Date.now() / 1000;
  return `${new Date(Math.floor(seconds) * 1000).toISOString().slice(0, 19)}Z`;
}
