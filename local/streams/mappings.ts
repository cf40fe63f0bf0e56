// The DynamoDB stream event source mappings of a template (`AWS::Lambda::EventSourceMapping` whose
// EventSourceArn is `Fn::GetAtt [<table>, StreamArn]`), with Lambda's defaults filled in.
import type { CfnResource, CfnTemplate } from '#infra/synth.js';
import { compileFilters } from './filter.js';

export interface StreamMapping {
  /** Logical id of the AWS::Lambda::EventSourceMapping. */
  readonly id: string;
  readonly functionId: string;
  /** Logical id of the AWS::DynamoDB::Table (or GlobalTable) whose stream is read. */
  readonly tableId: string;
  readonly enabled: boolean;
  readonly batchSize: number;
  readonly maximumBatchingWindowMs: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: infinite. */
  readonly maximumRetryAttempts: number;
  /** -1: infinite. */
  readonly maximumRecordAgeSeconds: number;
  readonly parallelizationFactor: number;
  /** The `Pattern` strings of FilterCriteria (ORed); empty: every record. */
  readonly filterPatterns: readonly string[];
  /** The on-failure destination, when there is one. */
  readonly onFailure?: { readonly logicalId: string; readonly type: string };
  /** Tumbling windows are not emulated; kept so the runtime can warn. */
  readonly tumblingWindowSeconds: number;
}

const TABLE_TYPES = new Set(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']);

/** Reads every DynamoDB stream mapping of the template; other event sources (SQS, Kinesis) are skipped. */
export function readStreamMappings(template: CfnTemplate): StreamMapping[] {
  const resources = template.Resources;
  const mappings: StreamMapping[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const p = resource.Properties ?? {};
    const tableId = streamTableOf(p.EventSourceArn, resources);
    if (!tableId) continue;
    const functionId = functionOf(p.FunctionName, resources);
    if (!functionId) {
      throw new Error(
        `Event source mapping ${id}: FunctionName does not point at a function of the template`,
      );
    }
    const startingPosition = p.StartingPosition;
    if (startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST') {
      throw new Error(`Event source mapping ${id}: StartingPosition must be TRIM_HORIZON or LATEST`);
    }
    const filterPatterns = (
      (p.FilterCriteria as { Filters?: Array<{ Pattern?: unknown }> } | undefined)?.Filters ?? []
    )
      .map((f) => f.Pattern)
      .filter((pattern): pattern is string => typeof pattern === 'string');
    try {
      compileFilters(filterPatterns);
    } catch (err) {
      throw new Error(`Event source mapping ${id}: ${(err as Error).message}`);
    }
    const destination = (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
      ?.OnFailure?.Destination;
    const destinationId = destination === undefined ? undefined : logicalIdOf(destination);
    mappings.push({
      id,
      functionId,
      tableId,
      enabled: bool(p.Enabled, true),
      batchSize: int(id, 'BatchSize', p.BatchSize, 100, 1, 10_000),
      maximumBatchingWindowMs:
        int(id, 'MaximumBatchingWindowInSeconds', p.MaximumBatchingWindowInSeconds, 0, 0, 300) * 1000,
      startingPosition,
      reportBatchItemFailures:
        Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
      bisectBatchOnFunctionError: bool(p.BisectBatchOnFunctionError, false),
      maximumRetryAttempts: int(id, 'MaximumRetryAttempts', p.MaximumRetryAttempts, -1, -1, 10_000),
      // AWS's minimum is 60 s; smaller values are accepted here so tests need not wait a minute.
      maximumRecordAgeSeconds: int(
        id,
        'MaximumRecordAgeInSeconds',
        p.MaximumRecordAgeInSeconds,
        -1,
        -1,
        604_800,
      ),
      parallelizationFactor: int(id, 'ParallelizationFactor', p.ParallelizationFactor, 1, 1, 10),
      filterPatterns,
      onFailure: destinationId
        ? { logicalId: destinationId, type: resources[destinationId]?.Type ?? 'unknown' }
        : undefined,
      tumblingWindowSeconds: int(id, 'TumblingWindowInSeconds', p.TumblingWindowInSeconds, 0, 0, 900),
    });
  }
  return mappings;
}

/** The table of `Fn::GetAtt [<table>, StreamArn]`, or undefined for any other event source. */
function streamTableOf(value: unknown, resources: Record<string, CfnResource>): string | undefined {
  const getAtt = (value as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
  const [target, attribute] = Array.isArray(getAtt)
    ? getAtt
    : typeof getAtt === 'string'
      ? getAtt.split('.')
      : [];
  if (attribute !== 'StreamArn' || typeof target !== 'string') return undefined;
  return TABLE_TYPES.has(resources[target]?.Type ?? '') ? target : undefined;
}

/** A function named by `Ref`/`Fn::GetAtt [fn, Arn]`, also through an alias or version. */
export function functionOf(value: unknown, resources: Record<string, CfnResource>): string | undefined {
  const id = logicalIdOf(value);
  if (!id) return undefined;
  const resource = resources[id];
  if (resource?.Type === 'AWS::Lambda::Function') return id;
  if (resource?.Type === 'AWS::Lambda::Alias' || resource?.Type === 'AWS::Lambda::Version') {
    return functionOf(resource.Properties?.FunctionName, resources);
  }
  return undefined;
}

function logicalIdOf(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

function bool(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value === true || value === 'true';
}

function int(id: string, name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(
      `Event source mapping ${id}: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
  return n;
}
