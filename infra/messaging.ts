import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MESSAGE_QUEUE_URL_ENV } from '#shared/config/env.js';

/** The sequencer's Lambda timeout; the queue's visibility timeout is six times it (AWS's advice for SQS triggers). */
export const SEQUENCER_TIMEOUT_SECONDS = 30;
/** Receives of one send before it moves to the dead-letter queue (a conversation is blocked until then). */
export const SEND_MAX_RECEIVE_COUNT = 5;
/** Concurrent sequencer invocations (each holds different conversations: one batch in flight per group). */
export const SEQUENCER_MAX_CONCURRENCY = 20;

/**
 * One ordered writer per conversation: an SQS FIFO queue whose message group is the conversation, read
 * by the sequencer function in batches of up to 10 (the FIFO maximum) with partial batch failures, and
 * a FIFO dead-letter queue for sends that kept failing. High-throughput FIFO: deduplication and the
 * throughput limit are per message group, so conversations never share a quota.
 */
export class ChatMessaging extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'SendDeadLetterQueue', {
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'SendQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(6 * SEQUENCER_TIMEOUT_SECONDS),
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: SEND_MAX_RECEIVE_COUNT },
    });
  }

  /** Where the API's send routes put accepted sends. */
  environment(): Record<string, string> {
    return { [MESSAGE_QUEUE_URL_ENV]: this.queue.queueUrl };
  }

  /** Lets a route enqueue sends. */
  grantEnqueue(fn: IFunction): void {
    this.queue.grantSendMessages(fn);
  }

  /** Connects the sequencer: batches of 10, failures reported per send. */
  connectSequencer(sequencer: IFunction & { addEventSource(source: SqsEventSource): void }): void {
    sequencer.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: SEQUENCER_MAX_CONCURRENCY,
      }),
    );
  }
}
