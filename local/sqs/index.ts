// Local SQS: the template's queues in ElasticMQ and its SQS event source mappings with Lambda's semantics.
export { idsToKeep, toSqsEvent } from './events.js';
export { DEFAULT_QUEUE_CONCURRENCY, type QueueMapping, readQueueMappings } from './mappings.js';
export { ensureQueues, type LocalQueue, localQueueName, lookupQueueUrls } from './queues.js';
export {
  type QueueInvoker,
  type QueueTriggerOptions,
  type QueueTriggerStats,
  type QueueTriggers,
  startQueueTriggers,
} from './triggers.js';
