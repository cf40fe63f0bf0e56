// The sequencer's reorder window against the real DynamoDB engine and a FIFO queue of its own on the
// test run's ElasticMQ (nothing polls it, so the flush markers the sequencer queues can be read here).
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGE_QUEUE_URL_ENV } from '#shared/config/env.js';
import { getConversation } from '#shared/data/conversations-repo.js';
import { listMessages } from '#shared/data/messages-repo.js';
import type { QueuedSend } from '#shared/data/send-queue.js';
import { handler as sequencer } from '../../functions/queues/message-sequencer.js';
import { friends } from '../support/social.js';
import { unique } from '../support/tables.js';

const sqs = new SQSClient({});
let queueUrl = '';
let previousQueueUrl: string | undefined;

beforeAll(async () => {
  const created = await sqs.send(
    new CreateQueueCommand({ QueueName: `${unique('order-')}.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  queueUrl = created.QueueUrl as string;
  previousQueueUrl = process.env[MESSAGE_QUEUE_URL_ENV];
  process.env[MESSAGE_QUEUE_URL_ENV] = queueUrl;
});

afterAll(async () => {
  if (previousQueueUrl === undefined) delete process.env[MESSAGE_QUEUE_URL_ENV];
  else process.env[MESSAGE_QUEUE_URL_ENV] = previousQueueUrl;
  await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
});

/** An SQS record as the event source mapping hands it over; `sentAt` is the queue's receipt time. */
function record(body: unknown, sentAt: number): SQSRecord {
  return {
    messageId: unique('msg-'),
    receiptHandle: unique('rh-'),
    body: JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sentAt),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(sentAt),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:order.fifo',
    awsRegion: 'us-east-1',
  };
}
const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** A WebSocket send of `senderId` whose frame API Gateway received at `frameTime`. */
function frame(conversationId: string, senderId: string, name: string, frameTime: number): QueuedSend {
  return {
    attemptId: unique(`attempt-${name}-`),
    conversationId,
    senderId,
    clientMessageId: name,
    text: name,
    messageId: unique('m_'),
    enqueuedAt: frameTime,
    origin: { connectionId: unique('conn-'), frameTime },
  };
}

async function markersQueued(): Promise<number> {
  const res = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return (res.Messages ?? []).filter((m) => JSON.parse(m.Body ?? '{}').flush === true).length;
}

describe('the reorder window', () => {
  it('holds a frame that overtook an earlier one, then commits both in the order sent', async () => {
    const { a, conversationId } = await friends();
    const t = Date.now() - 5_000;
    // Frame 2 reaches the queue first (100 ms after its frame): with nothing later in hand it is held.
    const second = frame(conversationId, a.userId, 'second', t + 1000);
    expect(await sequencer(event(record(second, t + 1100)))).toEqual({ batchItemFailures: [] });

    expect((await listMessages(conversationId, 0, 10)).items).toEqual([]);
    const held = await getConversation(conversationId);
    expect(held?.held?.map((h) => h.send.clientMessageId)).toEqual(['second']);
    expect(held?.lastSeq).toBe(0);
    expect(await markersQueued()).toBe(1);

    // Frame 1 arrives, with a redelivered copy of frame 2 and a flush marker queued well past both.
    const first = frame(conversationId, a.userId, 'first', t + 990);
    const response = await sequencer(
      event(
        record(first, t + 1105),
        record(second, t + 1110),
        record({ flush: true, conversationId }, t + 3000),
      ),
    );
    expect(response).toEqual({ batchItemFailures: [] });

    const stored = (await listMessages(conversationId, 0, 10)).items;
    expect(stored.map((m) => [m.seq, m.clientMessageId])).toEqual([
      [1, 'first'],
      [2, 'second'],
    ]);
    const after = await getConversation(conversationId);
    expect(after?.held).toBeUndefined();
    expect(after?.lastSeq).toBe(2);
    // Nothing is held any more, so no further wake-up was queued.
    expect(await markersQueued()).toBe(0);
  });

  it('commits a held frame on a flush marker alone, once the queue is past its window', async () => {
    const { b, conversationId } = await friends();
    const t = Date.now() - 5_000;
    const only = frame(conversationId, b.userId, 'only', t);
    await sequencer(event(record(only, t + 50)));
    expect((await getConversation(conversationId))?.held).toHaveLength(1);
    expect(await markersQueued()).toBe(1);

    await sequencer(event(record({ flush: true, conversationId }, t + 10_000)));

    const stored = (await listMessages(conversationId, 0, 10)).items;
    expect(stored.map((m) => m.clientMessageId)).toEqual(['only']);
    expect((await getConversation(conversationId))?.held).toBeUndefined();
  });

  it('commits a frame declared previousAcked at once, while a pipelined frame waits out the window', async () => {
    const { a, b, conversationId } = await friends();
    const t = Date.now() - 5_000;
    const piped = frame(conversationId, a.userId, 'piped', t + 1000);
    const solo = frame(conversationId, b.userId, 'solo', t + 1001);
    const hinted = {
      ...solo,
      origin: { ...(solo.origin as NonNullable<QueuedSend['origin']>), previousAcked: true },
    };
    expect(await sequencer(event(record(piped, t + 1050), record(hinted, t + 1051)))).toEqual({
      batchItemFailures: [],
    });
    expect((await listMessages(conversationId, 0, 10)).items.map((m) => m.clientMessageId)).toEqual(['solo']);
    expect((await getConversation(conversationId))?.held?.map((h) => h.send.clientMessageId)).toEqual([
      'piped',
    ]);
    expect(await markersQueued()).toBe(1);
  });

  it('never holds an HTTP send', async () => {
    const { a, conversationId } = await friends();
    const now = Date.now();
    const { origin: _origin, ...http } = frame(conversationId, a.userId, 'http', now);
    await sequencer(event(record(http, now)));
    expect((await listMessages(conversationId, 0, 10)).items.map((m) => m.clientMessageId)).toEqual(['http']);
    expect((await getConversation(conversationId))?.held).toBeUndefined();
  });
});
