// Local stream trigger: Lambda event source mappings for DynamoDB Streams, run against the local DynamoDB engine.
export {
  BatchPlan,
  type InvokeOutcome,
  interpretResponse,
  type PlanStep,
  type RetryPolicy,
  retryDelayMs,
} from './batch.js';
export { CheckpointStore, type MappingCheckpoint, type ShardCheckpoint, Watermark } from './checkpoint.js';
export { compileFilters, InvalidFilterPatternError, leafValues, matchesPattern } from './filter.js';
export { readStreamMappings, type StreamMapping } from './mappings.js';
export {
  type FailureCondition,
  type OnFailureRecord,
  onFailureRecord,
  type StreamEvent,
  type StreamEventRecord,
  toEventRecord,
  toWireItem,
  toWireValue,
} from './records.js';
export {
  type StreamInvoker,
  type StreamLog,
  type StreamTriggerOptions,
  type StreamTriggerStats,
  type StreamTriggers,
  startStreamTriggers,
} from './triggers.js';
