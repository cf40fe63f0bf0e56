// The SQS event source mappings of a template (`AWS::Lambda::EventSourceMapping` whose EventSourceArn is
// `Fn::GetAtt [<queue>, Arn]`), with Lambda's defaults filled in.
import type { CfnResource, CfnTemplate } from '#infra/synth.js';
import { functionOf } from '../streams/mappings.js';

export interface QueueMapping {
  /** Logical id of the AWS::Lambda::EventSourceMapping. */
  readonly id: string;
  readonly functionId: string;
  /** Logical id of the AWS::SQS::Queue. */
  readonly queueId: string;
  readonly enabled: boolean;
  /** Records per invocation: 1-10 for FIFO queues (Lambda's limit). */
  readonly batchSize: number;
  readonly reportBatchItemFailures: boolean;
  /** ScalingConfig.MaximumConcurrency: concurrent invocations for this mapping. */
  readonly maximumConcurrency: number;
}

/** Concurrent invocations when the mapping sets no ScalingConfig (Lambda starts with five pollers and scales up; five is plenty here). */
export const DEFAULT_QUEUE_CONCURRENCY = 5;

/** Reads every SQS mapping of the template; stream mappings are skipped (see local/streams). */
export function readQueueMappings(template: CfnTemplate): QueueMapping[] {
  const resources = template.Resources;
  const out: QueueMapping[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const p = resource.Properties ?? {};
    const queueId = queueOf(p.EventSourceArn, resources);
    if (!queueId) continue;
    const functionId = functionOf(p.FunctionName, resources);
    if (!functionId) {
      throw new Error(
        `Event source mapping ${id}: FunctionName does not point at a function of the template`,
      );
    }
    const fifoQueue = resources[queueId]?.Properties?.FifoQueue;
    const fifo = fifoQueue === true || fifoQueue === 'true';
    const batchSize = p.BatchSize === undefined ? 10 : Number(p.BatchSize);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > (fifo ? 10 : 10_000)) {
      throw new Error(`Event source mapping ${id}: BatchSize ${String(p.BatchSize)} is out of range`);
    }
    const scaling = p.ScalingConfig as { MaximumConcurrency?: unknown } | undefined;
    out.push({
      id,
      functionId,
      queueId,
      enabled: p.Enabled === undefined ? true : p.Enabled === true || p.Enabled === 'true',
      batchSize,
      reportBatchItemFailures:
        Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
      maximumConcurrency:
        scaling?.MaximumConcurrency === undefined
          ? DEFAULT_QUEUE_CONCURRENCY
          : Number(scaling.MaximumConcurrency),
    });
  }
  return out;
}

function queueOf(value: unknown, resources: Record<string, CfnResource>): string | undefined {
  const getAtt = (value as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
  if (!Array.isArray(getAtt) || getAtt[1] !== 'Arn' || typeof getAtt[0] !== 'string') return undefined;
  return resources[getAtt[0]]?.Type === 'AWS::SQS::Queue' ? getAtt[0] : undefined;
}
