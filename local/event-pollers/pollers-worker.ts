// The event pollers' thread: runs every event source mapping of the template (DynamoDB Streams and SQS)
// and asks the main thread, which owns the functions, to invoke them (see index.ts for why a thread).
import { parentPort, workerData } from 'node:worker_threads';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startQueueTriggers } from '../sqs/index.js';
import { startStreamTriggers } from '../streams/index.js';
import { deserializeError, serializeError } from '../worker-messages.js';
import type { FromPollers, PollerData, ToPollers } from './messages.js';

const port = parentPort;
if (!port) throw new Error('pollers-worker.ts runs as a worker thread');
const data = workerData as PollerData;
const post = (message: FromPollers) => port.postMessage(message);

// Invocations waiting for the main thread's answer, by id.
const waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
let nextId = 0;
const invoke = (functionId: string, event: unknown): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    post({ type: 'invoke', id, functionId, event });
  });

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
  switch (message.type) {
    case 'invoked':
    case 'invoke-failed': {
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.type === 'invoked') pending?.resolve(message.value);
      else pending?.reject(deserializeError(message.error));
      return;
    }
    case 'stats':
      return answer(message.id, async () => streams.stats(message.mappingId));
    case 'idle':
      return answer(message.id, async () => {
        await streams.idle({
          ...(message.mappingId ? { mappingId: message.mappingId } : {}),
          ...(message.timeoutMs ? { timeoutMs: message.timeoutMs } : {}),
        });
      });
    case 'stop':
      return answer(message.id, async () => {
        await Promise.all([streams.stop(), queues.stop()]);
        sqs.destroy();
      });
  }
});
post({
  type: 'started',
  streamMappings: streams.mappings.map((m) => ({ id: m.id, functionId: m.functionId })),
});

function answer(id: number, work: () => Promise<unknown>): void {
  work().then(
    (value) => post({ type: 'done', id, ...(value ? { value: value as never } : {}) }),
    (err: unknown) => post({ type: 'failed', id, error: serializeError(err) }),
  );
}
