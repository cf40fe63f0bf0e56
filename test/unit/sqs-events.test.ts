import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { idsToKeep, toSqsEvent } from '#local/sqs/index.js';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:Sends.fifo';

/** A received message as ReceiveMessage returns it; `group` makes it a FIFO message. */
function message(id: string, group?: string, extra: Partial<Message> = {}): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: JSON.stringify({ id }),
    MD5OfBody: `md5-${id}`,
    Attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1767225600000',
      ApproximateFirstReceiveTimestamp: '1767225600100',
      SenderId: 'local',
      ...(group ? { MessageGroupId: group, MessageDeduplicationId: `dedup-${id}`, SequenceNumber: '1' } : {}),
    },
    ...extra,
  };
}

const eventOf = (messages: Message[]) => toSqsEvent(messages, QUEUE_ARN);
const sorted = (ids: Set<string>) => [...ids].sort();
const standard = { reportBatchItemFailures: true, fifo: false };
const fifo = { reportBatchItemFailures: true, fifo: true };

describe('the SQS event handed to a function', () => {
  it('has the shape Lambda gives it, attributes and message group passed through', () => {
    const binary = new Uint8Array([1, 2, 255]);
    const event = eventOf([
      message('m-1', 'conv-1', {
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'send' },
          blob: { DataType: 'Binary', BinaryValue: binary },
        },
      }),
      message('m-2', 'conv-2'),
    ]);

    expect(event.Records).toHaveLength(2);
    expect(event.Records[0]).toEqual({
      messageId: 'm-1',
      receiptHandle: 'rh-m-1',
      body: '{"id":"m-1"}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1767225600000',
        ApproximateFirstReceiveTimestamp: '1767225600100',
        SenderId: 'local',
        MessageGroupId: 'conv-1',
        MessageDeduplicationId: 'dedup-m-1',
        SequenceNumber: '1',
      },
      messageAttributes: {
        kind: {
          stringValue: 'send',
          binaryValue: undefined,
          stringListValues: [],
          binaryListValues: [],
          dataType: 'String',
        },
        blob: {
          stringValue: undefined,
          binaryValue: Buffer.from(binary).toString('base64'),
          stringListValues: [],
          binaryListValues: [],
          dataType: 'Binary',
        },
      },
      md5OfBody: 'md5-m-1',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE_ARN,
      awsRegion: 'us-east-1',
    });
    expect(event.Records[1]).toMatchObject({
      messageId: 'm-2',
      attributes: { MessageGroupId: 'conv-2' },
      messageAttributes: {},
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE_ARN,
    });
  });

  it('keeps the received order and takes the region it is given', () => {
    const ids = ['c', 'a', 'b'];
    const event = toSqsEvent(
      ids.map((id) => message(id)),
      QUEUE_ARN,
      'eu-west-1',
    );
    expect(event.Records.map((r) => r.messageId)).toEqual(ids);
    expect(event.Records.every((r) => r.awsRegion === 'eu-west-1')).toBe(true);
  });

  it('gives an empty body for a message without one', () => {
    const event = eventOf([message('empty', undefined, { Body: undefined })]);
    expect(event.Records[0]?.body).toBe('');
  });
});

describe('which messages stay on the queue after an invocation', () => {
  const batch = () => eventOf(['a', 'b', 'c', 'd'].map((id) => message(id)));

  it('keeps the whole batch when the function threw', () => {
    for (const options of [standard, fifo, { reportBatchItemFailures: false, fifo: false }]) {
      expect(sorted(idsToKeep(batch(), { error: new Error('boom') }, options))).toEqual(['a', 'b', 'c', 'd']);
    }
  });

  it('keeps nothing when the mapping does not report item failures, whatever the answer', () => {
    const response = { batchItemFailures: [{ itemIdentifier: 'b' }] };
    const keep = idsToKeep(batch(), { response }, { reportBatchItemFailures: false, fifo: false });
    expect(keep.size).toBe(0);
  });

  it('treats a missing, null or empty batchItemFailures as success', () => {
    for (const response of [
      undefined,
      null,
      {},
      'ok',
      { batchItemFailures: null },
      { batchItemFailures: [] },
    ]) {
      expect(idsToKeep(batch(), { response }, standard).size, JSON.stringify(response)).toBe(0);
    }
  });

  it('keeps only the reported messages of a standard queue', () => {
    const response = { batchItemFailures: [{ itemIdentifier: 'd' }, { itemIdentifier: 'b' }] };
    expect(sorted(idsToKeep(batch(), { response }, standard))).toEqual(['b', 'd']);
  });

  it('keeps the whole batch when an entry has an unknown or missing identifier', () => {
    for (const bad of [
      { itemIdentifier: 'not-in-batch' },
      { itemIdentifier: '' },
      { itemIdentifier: 7 },
      { itemIdentifier: null },
      {},
      null,
    ]) {
      const response = { batchItemFailures: [{ itemIdentifier: 'a' }, bad] };
      expect(sorted(idsToKeep(batch(), { response }, standard)), JSON.stringify(bad)).toEqual([
        'a',
        'b',
        'c',
        'd',
      ]);
    }
  });

  it('keeps the whole batch when batchItemFailures is not a list', () => {
    const response = { batchItemFailures: { itemIdentifier: 'a' } };
    expect(sorted(idsToKeep(batch(), { response }, standard))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('FIFO: keeps every later message of a failed message group, and nothing of the other groups', () => {
    // Interleaved groups as a FIFO receive may return them: g1 = 1,3,5,7; g2 = 2,4,6; g3 = 8.
    const event = eventOf([
      message('g1-1', 'g1'),
      message('g2-1', 'g2'),
      message('g1-2', 'g1'),
      message('g2-2', 'g2'),
      message('g1-3', 'g1'),
      message('g2-3', 'g2'),
      message('g1-4', 'g1'),
      message('g3-1', 'g3'),
    ]);
    const response = { batchItemFailures: [{ itemIdentifier: 'g1-2' }] };

    const keep = idsToKeep(event, { response }, fifo);

    expect(sorted(keep)).toEqual(['g1-2', 'g1-3', 'g1-4']);
  });

  it('FIFO: the earliest failure of a group decides, whatever order the failures are reported in', () => {
    const event = eventOf([
      message('x-1', 'x'),
      message('x-2', 'x'),
      message('x-3', 'x'),
      message('y-1', 'y'),
      message('y-2', 'y'),
    ]);
    const response = { batchItemFailures: [{ itemIdentifier: 'y-2' }, { itemIdentifier: 'x-2' }] };

    expect(sorted(idsToKeep(event, { response }, fifo))).toEqual(['x-2', 'x-3', 'y-2']);
  });

  it('a standard queue keeps only the reported message, not the later ones of its group', () => {
    const event = eventOf([message('s-1', 'g'), message('s-2', 'g'), message('s-3', 'g')]);
    const response = { batchItemFailures: [{ itemIdentifier: 's-1' }] };

    expect(sorted(idsToKeep(event, { response }, standard))).toEqual(['s-1']);
  });
});
