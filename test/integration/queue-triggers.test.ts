// The local SQS trigger (Lambda event source mapping semantics) against the ElasticMQ of the test run,
// with queues of its own and a function written here.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import type { CfnTemplate } from '#infra/synth.js';
import {
  ensureQueues,
  type LocalQueue,
  type QueueTriggers,
  readQueueMappings,
  startQueueTriggers,
} from '#local/sqs/index.js';
import { unique } from '../support/tables.js';

const TEST_TIMEOUT = 180_000;
const WAIT = { timeout: 90_000, interval: 50 };
const VISIBILITY_TIMEOUT_SECONDS = 2;
const MAX_RECEIVE_COUNT = 2;
const MAX_CONCURRENCY = 4;

const endpoint = () => {
  const url = process.env.AWS_ENDPOINT_URL_SQS;
  if (!url) throw new Error('AWS_ENDPOINT_URL_SQS is not set (global setup)');
  return url;
};
const sqs = new SQSClient({
  endpoint: endpoint(),
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

const running: QueueTriggers[] = [];
const createdQueues: string[] = [];
/** Log lines of every trigger of the current test. */
let testLogs: string[] = [];
/** What the function found wrong with the events it was given. */
let problems: string[] = [];

afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
  for (const url of createdQueues.splice(0)) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  // No message group was ever handed out twice at once (logged as an error by the trigger).
  const errors = testLogs.filter((line) => line.startsWith('error'));
  const found = problems;
  testLogs = [];
  problems = [];
  expect(errors).toEqual([]);
  expect(found).toEqual([]);
});

/** A FIFO queue with a FIFO dead-letter queue, and one mapping to a function; ids unique to the test. */
function template() {
  const queueId = unique('TrigQueue');
  const dlqId = unique('TrigDlq');
  const mappingId = unique('TrigEsm');
  const resources: CfnTemplate['Resources'] = {
    [dlqId]: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
    [queueId]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        FifoQueue: true,
        VisibilityTimeout: VISIBILITY_TIMEOUT_SECONDS,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
          maxReceiveCount: MAX_RECEIVE_COUNT,
        },
      },
    },
    Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
    [mappingId]: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        FunctionName: { Ref: 'Fn' },
        BatchSize: 10,
        ScalingConfig: { MaximumConcurrency: MAX_CONCURRENCY },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    },
  };
  return { template: { Resources: resources } as CfnTemplate, queueId, dlqId, mappingId };
}

interface Body {
  group: string;
  index: number;
}

/** One record as the function saw it. */
interface Delivery {
  messageId: string;
  group: string;
  index: number;
  receiveCount: number;
  /** The invocation (0-based) it came in. */
  invocation: number;
}

type Handler = (records: Delivery[], invocation: number) => unknown;

interface Harness {
  queue: LocalQueue;
  dlq: LocalQueue;
  triggers: QueueTriggers;
  /** Every record of every invocation, in invocation order. */
  deliveries: Delivery[];
  /** Records of invocations that did not throw and were not reported as failed (or after one, FIFO). */
  batches: Delivery[][];
  /** Invocations that carried a message group already in an unfinished invocation. */
  overlaps: () => number;
  maxActive: () => number;
  /** Long-polling receives sent while an invocation was running (ElasticMQ spins on those, FIFO). */
  longPollsWhileBusy: () => number;
  /** Long-polling receives sent in all. */
  longPolls: () => number;
  send(messages: Body[]): Promise<void>;
}

/**
 * Creates the queues, queues `before` (so the first receive finds them all), then starts the mapping with
 * a function that records what it gets and answers with `handler`.
 */
async function start(
  handler: Handler = () => ({ batchItemFailures: [] }),
  before: Body[] = [],
): Promise<Harness> {
  const { template: t, queueId, dlqId, mappingId } = template();
  const queues = await ensureQueues(sqs, t);
  const queue = queues.get(queueId) as LocalQueue;
  const dlq = queues.get(dlqId) as LocalQueue;
  createdQueues.push(queue.url, dlq.url);
  expect(queue.fifo && dlq.fifo).toBe(true);
  const mappings = readQueueMappings(t);
  expect(mappings).toMatchObject([
    { id: mappingId, queueId, functionId: 'Fn', batchSize: 10, maximumConcurrency: MAX_CONCURRENCY },
  ]);

  let dedup = 0;
  const send = async (messages: Body[]) => {
    for (let i = 0; i < messages.length; i += 10) {
      const res = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: messages.slice(i, i + 10).map((m, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify(m),
            MessageGroupId: m.group,
            MessageDeduplicationId: `${m.group}-${m.index}-${dedup++}`,
          })),
        }),
      );
      expect(res.Failed ?? []).toEqual([]);
    }
  };
  await send(before);

  const deliveries: Delivery[] = [];
  const batches: Delivery[][] = [];
  const activeGroups = new Set<string>();
  let overlaps = 0;
  let active = 0;
  let maxActive = 0;
  let invocations = 0;
  let longPolls = 0;
  let longPollsWhileBusy = 0;
  // The client the trigger uses, counting its long polls and those sent while a batch was being handled.
  const client = new Proxy(sqs, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return (command: unknown, options?: unknown) => {
        if (command instanceof ReceiveMessageCommand && (command.input.WaitTimeSeconds ?? 0) > 0) {
          longPolls++;
          if (active > 0) longPollsWhileBusy++;
        }
        return (target.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
      };
    },
  });
  const triggers = startQueueTriggers({
    mappings,
    queues,
    client,
    invoke: async (functionId, raw) => {
      const event = raw as SQSEvent;
      const invocation = invocations++;
      if (functionId !== 'Fn') problems.push(`invoked ${functionId}`);
      const records = event.Records.map((r: SQSRecord): Delivery => {
        const body = JSON.parse(r.body) as Body;
        if (r.eventSource !== 'aws:sqs' || r.eventSourceARN !== queue.arn) {
          problems.push(`record source ${r.eventSource} ${r.eventSourceARN}`);
        }
        if (r.attributes.MessageGroupId !== body.group) {
          problems.push(`MessageGroupId ${r.attributes.MessageGroupId} for a message of ${body.group}`);
        }
        return {
          messageId: r.messageId,
          group: body.group,
          index: body.index,
          receiveCount: Number(r.attributes.ApproximateReceiveCount),
          invocation,
        };
      });
      deliveries.push(...records);
      const groups = new Set(records.map((r) => r.group));
      for (const g of groups) {
        if (activeGroups.has(g)) overlaps++;
        activeGroups.add(g);
      }
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        // Long enough for other pollers to receive meanwhile.
        await sleep(10 + Math.random() * 40);
        const response = handler(records, invocation);
        batches.push(records.filter((r) => !failedIn(response, records).has(r.messageId)));
        return response;
      } finally {
        for (const g of groups) activeGroups.delete(g);
        active--;
      }
    },
    log: (level, message) => {
      testLogs.push(`${level}: ${message}`);
    },
  });
  running.push(triggers);
  return {
    queue,
    dlq,
    triggers,
    deliveries,
    batches,
    overlaps: () => overlaps,
    maxActive: () => maxActive,
    longPollsWhileBusy: () => longPollsWhileBusy,
    longPolls: () => longPolls,
    send,
  };
}

/** The records a FIFO function's answer leaves unprocessed: each reported one and the rest of its group. */
function failedIn(response: unknown, records: Delivery[]): Set<string> {
  const reported = new Set(
    (
      (response as { batchItemFailures?: Array<{ itemIdentifier: string }> } | undefined)
        ?.batchItemFailures ?? []
    ).map((f) => f.itemIdentifier),
  );
  const failed = new Set<string>();
  const blocked = new Set<string>();
  for (const r of records) {
    if (blocked.has(r.group) || reported.has(r.messageId)) {
      blocked.add(r.group);
      failed.add(r.messageId);
    }
  }
  return failed;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const groupsOf = (count: number) => Array.from({ length: count }, (_, g) => `g${g}-${unique('')}`);
/** Messages of every group, interleaved: index 0 of each group, then index 1 of each, and so on. */
const interleaved = (groups: string[], perGroup: number): Body[] =>
  range(0, perGroup).flatMap((index) => groups.map((group) => ({ group, index })));
const indexesOf = (list: Delivery[], group: string) =>
  list.filter((d) => d.group === group).map((d) => d.index);

/** Waits until the queue holds nothing, visible, in flight or delayed. */
async function drained(queueUrl: string): Promise<void> {
  await expect
    .poll(async () => {
      const res = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      return Object.values(res.Attributes ?? {}).map(Number);
    }, WAIT)
    .toEqual([0, 0, 0]);
}

describe('SQS trigger against ElasticMQ (FIFO queue)', () => {
  it(
    'delivers every message once, in order per message group, one batch per group at a time',
    async () => {
      const h = await start();
      const groups = groupsOf(5);
      const messages = interleaved(groups, 30);

      await h.send(messages);
      await expect.poll(() => h.triggers.stats.deleted, WAIT).toBe(messages.length);
      await drained(h.queue.url);

      expect(h.deliveries).toHaveLength(messages.length);
      expect(new Set(h.deliveries.map((d) => d.messageId)).size).toBe(messages.length);
      for (const g of groups) expect(indexesOf(h.deliveries, g), g).toEqual(range(0, 30));
      expect(h.deliveries.every((d) => d.receiveCount === 1)).toBe(true);
      expect(h.overlaps()).toBe(0);
      expect(h.maxActive()).toBeLessThanOrEqual(MAX_CONCURRENCY);
      // Batches of several groups ran side by side, and no long poll waited meanwhile (see
      // FIFO_BUSY_POLL_MS); the trigger long-polls only when nothing is in flight.
      expect(h.maxActive()).toBeGreaterThan(1);
      expect(h.longPollsWhileBusy()).toBe(0);
      expect(h.longPolls()).toBeGreaterThan(0);
      expect(h.batches.every((b) => b.length >= 1 && b.length <= 10)).toBe(true);
      expect(h.triggers.stats).toEqual({
        invocations: h.batches.length,
        deleted: messages.length,
        retried: 0,
        groupOverlaps: 0,
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'redelivers a reported failure and the rest of its group after the visibility timeout, in order',
    async () => {
      const groups = groupsOf(3);
      const [failing] = groups as [string];
      const failAt = 2;
      let failedOnce = false;
      const messages = interleaved(groups, 8);
      // Queued before the mapping polls, so the failed message comes with later ones of its group.
      const h = await start((records) => {
        const target = records.find((r) => r.group === failing && r.index === failAt);
        if (!target || failedOnce) return { batchItemFailures: [] };
        failedOnce = true;
        // Reports only the failed message: the trigger must keep the later ones of its group too.
        return { batchItemFailures: [{ itemIdentifier: target.messageId }] };
      }, messages);

      await expect.poll(() => h.triggers.stats.deleted, WAIT).toBe(messages.length);
      await drained(h.queue.url);

      const seen = h.deliveries.filter((d) => d.group === failing);
      const again = seen.findIndex((d, i) => i > 0 && d.index === failAt && d.receiveCount === 2);
      expect(again).toBeGreaterThan(0);
      const lastBeforeRetry = (seen[again - 1] as Delivery).index;
      // All queued before polling: the failed batch also carried later messages of the group.
      expect(lastBeforeRetry).toBeGreaterThan(failAt);
      // First pass up to the end of the failed batch, then the failed one and everything after it.
      expect(seen.map((d) => d.index)).toEqual([...range(0, lastBeforeRetry + 1), ...range(failAt, 8)]);
      expect(seen.slice(0, failAt).every((d) => d.receiveCount === 1)).toBe(true);
      expect(seen.slice(again, again + lastBeforeRetry - failAt + 1).every((d) => d.receiveCount === 2)).toBe(
        true,
      );
      // Processed exactly once each, in order.
      expect(indexesOf(h.batches.flat(), failing)).toEqual(range(0, 8));
      for (const g of groups.slice(1)) {
        expect(indexesOf(h.deliveries, g), g).toEqual(range(0, 8));
        expect(h.deliveries.filter((d) => d.group === g).every((d) => d.receiveCount === 1)).toBe(true);
      }
      expect(h.triggers.stats).toMatchObject({
        deleted: messages.length,
        retried: lastBeforeRetry - failAt + 1,
        groupOverlaps: 0,
      });
      expect(h.overlaps()).toBe(0);
    },
    TEST_TIMEOUT,
  );

  it(
    'moves a message that always fails to the dead-letter queue after maxReceiveCount receives',
    async () => {
      const [poison, healthy] = groupsOf(2) as [string, string];
      const h = await start((records) => ({
        batchItemFailures: records
          .filter((r) => r.group === poison)
          .map((r) => ({ itemIdentifier: r.messageId })),
      }));
      const messages = [
        { group: poison, index: 0 },
        ...range(0, 6).map((index) => ({ group: healthy, index })),
      ];

      await h.send(messages);
      const dead = await receiveOne(h.dlq.url);
      expect(JSON.parse(dead.Body as string)).toEqual({ group: poison, index: 0 });
      expect(dead.Attributes?.MessageGroupId).toBe(poison);
      await expect.poll(() => h.triggers.stats.deleted, WAIT).toBe(6);
      await drained(h.queue.url);
      const poisoned = h.deliveries.filter((d) => d.group === poison);
      expect(poisoned.map((d) => d.receiveCount)).toEqual(range(1, MAX_RECEIVE_COUNT + 1));
      expect(new Set(poisoned.map((d) => d.messageId)).size).toBe(1);
      expect(dead.MessageId).toBe(poisoned[0]?.messageId);
      expect(indexesOf(h.deliveries, healthy)).toEqual(range(0, 6));
      expect(h.triggers.stats).toMatchObject({ deleted: 6, retried: MAX_RECEIVE_COUNT, groupOverlaps: 0 });
    },
    TEST_TIMEOUT,
  );

  it(
    'redelivers the whole batch when the function throws',
    async () => {
      const groups = groupsOf(3);
      const messages = interleaved(groups, 4);
      // Queued before the mapping polls, so the first invocation likely carries several groups.
      const h = await start((_records, invocation) => {
        if (invocation === 0) throw new Error('function crashed');
        return { batchItemFailures: [] };
      }, messages);

      await expect.poll(() => h.triggers.stats.deleted, WAIT).toBe(messages.length);
      await drained(h.queue.url);

      const first = h.deliveries.filter((d) => d.invocation === 0);
      expect(first.length).toBeGreaterThan(0);
      for (const d of first) {
        const later = h.deliveries.filter((x) => x.messageId === d.messageId && x.invocation > 0);
        expect(
          later.map((x) => x.receiveCount),
          `${d.group}/${d.index}`,
        ).toEqual([2]);
      }
      expect(h.deliveries).toHaveLength(messages.length + first.length);
      const processed = h.batches.flat();
      expect(processed).toHaveLength(messages.length);
      for (const g of groups) expect(indexesOf(processed, g), g).toEqual(range(0, 4));
      expect(h.triggers.stats).toMatchObject({
        deleted: messages.length,
        retried: first.length,
        groupOverlaps: 0,
      });
      expect(testLogs.some((line) => line.startsWith('warn') && line.includes('function crashed'))).toBe(
        true,
      );
    },
    TEST_TIMEOUT,
  );
});

/** Waits for one message on a queue (the dead-letter queue here) and returns it. */
async function receiveOne(queueUrl: string) {
  const deadline = Date.now() + WAIT.timeout;
  while (Date.now() < deadline) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const [message] = res.Messages ?? [];
    if (message) return message;
  }
  throw new Error(`no message on ${queueUrl} after ${WAIT.timeout} ms`);
}

describe('SQS trigger against ElasticMQ (standard queue)', () => {
  it(
    'delivers from a standard queue whose mapping asks for more than 10 records per batch',
    async () => {
      const queueId = unique('TrigStd');
      const t: CfnTemplate = {
        Resources: {
          [queueId]: {
            Type: 'AWS::SQS::Queue',
            Properties: { VisibilityTimeout: VISIBILITY_TIMEOUT_SECONDS },
          },
          Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
          Esm: {
            Type: 'AWS::Lambda::EventSourceMapping',
            Properties: {
              EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
              FunctionName: { Ref: 'Fn' },
              BatchSize: 50,
              MaximumBatchingWindowInSeconds: 1,
            },
          },
        },
      };
      const queues = await ensureQueues(sqs, t);
      const queue = queues.get(queueId) as LocalQueue;
      createdQueues.push(queue.url);
      expect(queue.fifo).toBe(false);
      const mappings = readQueueMappings(t);
      expect(mappings).toMatchObject([{ batchSize: 50, reportBatchItemFailures: false }]);
      const bodies = range(0, 25).map((i) => `std-${i}`);
      for (let i = 0; i < bodies.length; i += 10) {
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queue.url,
            Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody })),
          }),
        );
      }
      const received: string[] = [];
      const triggers = startQueueTriggers({
        mappings,
        queues,
        client: sqs,
        invoke: async (_functionId, raw) => {
          received.push(...(raw as SQSEvent).Records.map((r) => r.body));
        },
        log: (level, message) => {
          testLogs.push(`${level}: ${message}`);
        },
      });
      running.push(triggers);

      await expect.poll(() => triggers.stats.deleted, WAIT).toBe(bodies.length);
      await drained(queue.url);

      expect([...received].sort()).toEqual([...bodies].sort());
      expect(testLogs.filter((line) => line.includes('receive failed'))).toEqual([]);
    },
    TEST_TIMEOUT,
  );
});
