// Lambda's SQS event shape, and what a function's answer means for each record (which to delete).
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

/** Builds the event Lambda hands a function for received SQS messages. */
export function toSqsEvent(messages: readonly Message[], queueArn: string, region = 'us-east-1'): SQSEvent {
  return {
    Records: messages.map(
      (m): SQSRecord => ({
        messageId: m.MessageId as string,
        receiptHandle: m.ReceiptHandle as string,
        body: m.Body ?? '',
        attributes: m.Attributes as unknown as SQSRecord['attributes'],
        messageAttributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([name, v]) => [
            name,
            {
              stringValue: v.StringValue,
              binaryValue: v.BinaryValue ? Buffer.from(v.BinaryValue).toString('base64') : undefined,
              stringListValues: v.StringListValues ?? [],
              binaryListValues: [],
              dataType: v.DataType as string,
            },
          ]),
        ),
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: region,
      }),
    ),
  };
}

/**
 * The message ids to leave on the queue (they reappear after the visibility timeout) after an
 * invocation, by Lambda's rules: a thrown error fails the whole batch; with ReportBatchItemFailures an
 * empty or null `batchItemFailures` is success, and an entry with a missing or unknown
 * `itemIdentifier` fails the whole batch. For a FIFO queue, everything after a message's failure in the
 * same message group stays too, so the group's order survives a function that reported less.
 */
export function idsToKeep(
  event: SQSEvent,
  outcome: { error: unknown } | { response: unknown },
  options: { reportBatchItemFailures: boolean; fifo: boolean },
): Set<string> {
  const all = new Set(event.Records.map((r) => r.messageId));
  if ('error' in outcome) return all;
  if (!options.reportBatchItemFailures) return new Set();
  const failures = (outcome.response as { batchItemFailures?: unknown } | null | undefined)
    ?.batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return all;
  const keep = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    keep.add(id);
  }
  if (options.fifo) {
    const blocked = new Set<string>();
    for (const r of event.Records) {
      const group = r.attributes.MessageGroupId ?? '';
      if (blocked.has(group)) keep.add(r.messageId);
      else if (keep.has(r.messageId)) blocked.add(group);
    }
  }
  return keep;
}
