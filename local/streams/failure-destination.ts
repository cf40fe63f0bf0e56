// The on-failure destination (the mapping's dead-letter queue): records given up on are described in an
// on-failure record (records.ts) sent to the SQS queue of DestinationConfig.OnFailure, retried until the
// queue accepts it; with no usable destination they are dropped and counted.
import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { errorMessage } from './context.js';
import { type FailureCondition, onFailureRecord, type StreamEventRecord } from './records.js';
import type { ShardRunner } from './shard-reader.js';

/** Thrown inside a lane when stopping interrupts the delivery of an on-failure record. */
export class TriggersStopped extends Error {}

/** Sends the on-failure record (retrying until it is accepted or the triggers stop). */
export async function sendToFailureDestination(
  shard: ShardRunner,
  records: StreamEventRecord[],
  step: {
    condition: FailureCondition;
    approximateInvokeCount: number;
    functionError?: string;
  },
): Promise<void> {
  const runner = shard.mapping;
  const { ctx, stats } = runner;
  const queueUrl = runner.queueUrl;
  const first = records[0]?.dynamodb.SequenceNumber;
  const last = records[records.length - 1]?.dynamodb.SequenceNumber;
  if (!queueUrl) {
    stats.discarded += records.length;
    runner.logAs('warn', `${step.condition}: dropped ${records.length} record(s) ${first}..${last}`);
    return;
  }
  const body = JSON.stringify(
    onFailureRecord({
      requestId: randomUUID(),
      functionArn: runner.functionArn,
      condition: step.condition,
      approximateInvokeCount: step.approximateInvokeCount,
      functionError: step.functionError,
      shardId: shard.id,
      streamArn: runner.streamArn,
      records,
      now: new Date(),
    }),
  );
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.sqsFor(queueUrl).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }), {
        abortSignal: ctx.signal,
      });
      break;
    } catch (err) {
      if (ctx.stopping) throw new TriggersStopped();
      runner.logAs('warn', `sending to the on-failure queue failed (${errorMessage(err)}); retrying`);
      await ctx.sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      if (ctx.stopping) throw new TriggersStopped();
    }
  }
  stats.sentToDlq += records.length;
  stats.dlqMessages++;
  runner.logAs(
    'info',
    `${step.condition}: sent ${records.length} record(s) ${first}..${last} to the on-failure queue`,
  );
}
