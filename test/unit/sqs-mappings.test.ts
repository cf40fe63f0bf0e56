import { describe, expect, it } from 'vitest';
import type { CfnResource, CfnTemplate } from '#infra/synth.js';
import { DEFAULT_QUEUE_CONCURRENCY, readQueueMappings } from '#local/sqs/index.js';

const fn: CfnResource = { Type: 'AWS::Lambda::Function', Properties: {} };
const queue = (properties: Record<string, unknown> = {}): CfnResource => ({
  Type: 'AWS::SQS::Queue',
  Properties: properties,
});
const mapping = (queueId: string, properties: Record<string, unknown> = {}): CfnResource => ({
  Type: 'AWS::Lambda::EventSourceMapping',
  Properties: {
    EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
    FunctionName: { Ref: 'Fn' },
    ...properties,
  },
});
const template = (resources: Record<string, CfnResource>): CfnTemplate => ({
  Resources: { Fn: fn, ...resources },
});

describe('SQS mappings of a template', () => {
  it('fills in Lambda defaults for a bare mapping', () => {
    const mappings = readQueueMappings(template({ Q: queue(), Esm: mapping('Q') }));

    expect(mappings).toEqual([
      {
        id: 'Esm',
        functionId: 'Fn',
        queueId: 'Q',
        enabled: true,
        batchSize: 10,
        reportBatchItemFailures: false,
        maximumConcurrency: DEFAULT_QUEUE_CONCURRENCY,
      },
    ]);
    expect(DEFAULT_QUEUE_CONCURRENCY).toBe(5);
  });

  it('reads BatchSize, Enabled, ScalingConfig.MaximumConcurrency and ReportBatchItemFailures', () => {
    const mappings = readQueueMappings(
      template({
        Q: queue({ FifoQueue: true }),
        Esm: mapping('Q', {
          BatchSize: 7,
          Enabled: false,
          ScalingConfig: { MaximumConcurrency: 4 },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        }),
      }),
    );

    expect(mappings).toEqual([
      {
        id: 'Esm',
        functionId: 'Fn',
        queueId: 'Q',
        enabled: false,
        batchSize: 7,
        reportBatchItemFailures: true,
        maximumConcurrency: 4,
      },
    ]);
  });

  it('takes the function from Fn::GetAtt as well as Ref', () => {
    const [m] = readQueueMappings(
      template({ Q: queue(), Esm: mapping('Q', { FunctionName: { 'Fn::GetAtt': ['Fn', 'Arn'] } }) }),
    );
    expect(m?.functionId).toBe('Fn');
  });

  it('does not report item failures for other or empty FunctionResponseTypes', () => {
    const mappings = readQueueMappings(
      template({
        Q: queue(),
        Empty: mapping('Q', { FunctionResponseTypes: [] }),
        Other: mapping('Q', { FunctionResponseTypes: ['SomethingElse'] }),
      }),
    );
    expect(mappings.map((m) => [m.id, m.reportBatchItemFailures])).toEqual([
      ['Empty', false],
      ['Other', false],
    ]);
  });

  it('accepts up to 10 records per batch from a FIFO queue and rejects more', () => {
    expect(
      readQueueMappings(template({ Q: queue({ FifoQueue: true }), Esm: mapping('Q', { BatchSize: 10 }) }))[0]
        ?.batchSize,
    ).toBe(10);
    expect(() =>
      readQueueMappings(template({ Q: queue({ FifoQueue: true }), Esm: mapping('Q', { BatchSize: 11 }) })),
    ).toThrow(/Esm: BatchSize 11 is out of range/);
  });

  it('applies the FIFO limit to a queue whose FifoQueue is the string "true", as queue creation does', () => {
    expect(() =>
      readQueueMappings(template({ Q: queue({ FifoQueue: 'true' }), Esm: mapping('Q', { BatchSize: 11 }) })),
    ).toThrow(/Esm: BatchSize 11 is out of range/);
  });

  it('allows large batches from a standard queue but not zero, fractions or more than 10,000', () => {
    expect(
      readQueueMappings(template({ Q: queue(), Esm: mapping('Q', { BatchSize: 500 }) }))[0]?.batchSize,
    ).toBe(500);
    for (const size of [0, 2.5, 10_001, 'many']) {
      expect(
        () => readQueueMappings(template({ Q: queue(), Esm: mapping('Q', { BatchSize: size }) })),
        String(size),
      ).toThrow(/out of range/);
    }
  });

  it('ignores stream mappings and sources that are not queues of the template', () => {
    const mappings = readQueueMappings(
      template({
        Tbl: { Type: 'AWS::DynamoDB::Table', Properties: {} },
        Q: queue(),
        Stream: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            EventSourceArn: { 'Fn::GetAtt': ['Tbl', 'StreamArn'] },
            FunctionName: { Ref: 'Fn' },
            StartingPosition: 'LATEST',
          },
        },
        TableArn: mapping('Tbl'),
        Foreign: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            EventSourceArn: 'arn:aws:sqs:us-east-1:123456789012:elsewhere',
            FunctionName: { Ref: 'Fn' },
          },
        },
        Missing: mapping('NoSuchQueue'),
        FromQueue: mapping('Q'),
      }),
    );

    expect(mappings.map((m) => m.id)).toEqual(['FromQueue']);
  });

  it('refuses a mapping whose function is not a function of the template', () => {
    expect(() =>
      readQueueMappings(template({ Q: queue(), Esm: mapping('Q', { FunctionName: { Ref: 'Q' } }) })),
    ).toThrow(/Esm: FunctionName does not point at a function/);
    expect(() =>
      readQueueMappings(template({ Q: queue(), Esm: mapping('Q', { FunctionName: 'plain-name' }) })),
    ).toThrow(/Esm: FunctionName/);
  });
});
