// The event pollers' thread: runs every event source mapping of the template (DynamoDB Streams and SQS)
// and asks the main thread, which owns the functions, to invoke them (see index.ts for why a thread).
import { parentPort, workerData } from 'node:worker_threads';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startQueueTriggers } from '../sqs/index.js';
import { startStreamTriggers } from '../streams/index.js';
import { serializeError } from '../worker-messages.js';
import { type FromPollers, PendingCalls, type PollerData, replyTo, type ToPollers } from './messages.js';

const port = parentPort;
if (!port) throw new Error('pollers-worker.ts runs as a worker thread');
const data = workerData as PollerData;
const post = (message: FromPollers) => port.postMessage(message);

const invocations = new PendingCalls();
const invoke = (functionId: string, event: unknown): Promise<unknown> =>
  invocations.call((id) => post({ type: 'invoke', id, functionId, event }));

const functionIds = new Set(data.functionIds);
const sqs = new SQSClient({ endpoint: data.sqsEndpoint });
let streams: Awaited<ReturnType<typeof startStreamTriggers>>;
let queues: ReturnType<typeof startQueueTriggers>;
try {
  streams = await startStreamTriggers({
    template: data.template,
    invoke,
    dynamoEndpoint: data.dynamoEndpoint,
    tableNames: data.tableNames,
    queueUrls: data.queueUrls,
    checkpointDir: data.checkpointDir,
    include: (mapping) => functionIds.has(mapping.functionId),
    log: (level, message) => {
      if (level === 'warn' || level === 'error') console.error(`streams: ${message}`);
    },
  });
  queues = startQueueTriggers({
    mappings: data.queueMappings.filter((m) => functionIds.has(m.functionId)),
    queues: new Map(Object.entries(data.queues)),
    client: sqs,
    invoke,
  });
} catch (err) {
  post({ type: 'start-failed', error: serializeError(err) });
  throw err;
}

port.on('message', (message: ToPollers) => {
  if (message.type === 'reply') return invocations.settle(message);
  const answer = (work: () => Promise<unknown>) => void replyTo(message.id, work).then(post);
  switch (message.type) {
    case 'stats':
      return answer(async () => streams.stats(message.mappingId));
    case 'idle':
      return answer(() =>
        streams.idle({
          ...(message.mappingId ? { mappingId: message.mappingId } : {}),
          ...(message.timeoutMs ? { timeoutMs: message.timeoutMs } : {}),
        }),
      );
    case 'stop':
      return answer(async () => {
        await Promise.all([streams.stop(), queues.stop()]);
        sqs.destroy();
      });
  }
});
post({
  type: 'started',
  streamMappings: streams.mappings.map((m) => ({ id: m.id, functionId: m.functionId })),
});
