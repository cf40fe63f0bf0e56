import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SEND_MAX_RECEIVE_COUNT, SEQUENCER_TIMEOUT_SECONDS } from '#infra/messaging.js';
import { synthTemplate } from '#infra/synth.js';
import { DEFAULT_RATE_LIMITS } from '#shared/config/rate-limits.js';

describe('ChatStack messaging: one ordered writer per conversation', () => {
  let template: Template;
  let resources: Record<string, { Type: string; Properties: Record<string, any>; Metadata?: any }>;
  beforeAll(() => {
    const json = synthTemplate();
    template = Template.fromJSON(json);
    resources = json.Resources as typeof resources;
  });
  const logicalIdOf = (type: string, match: (p: Record<string, any>) => boolean) =>
    Object.entries(resources).find(([, r]) => r.Type === type && match(r.Properties ?? {}))?.[0];
  const sequencerId = () =>
    Object.entries(resources).find(
      ([, r]) => r.Metadata?.['chat:entry'] === 'functions/queues/message-sequencer.ts',
    )?.[0];

  it('declares a high-throughput FIFO send queue with a FIFO dead-letter queue', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: 6 * SEQUENCER_TIMEOUT_SECONDS,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: SEND_MAX_RECEIVE_COUNT },
    });
    const fifoQueues = template.findResources('AWS::SQS::Queue', { Properties: { FifoQueue: true } });
    expect(Object.keys(fifoQueues)).toHaveLength(2);
  });

  it('feeds the sequencer from the send queue in batches of 10 with partial batch failures', () => {
    const queueId = logicalIdOf('AWS::SQS::Queue', (p) => p.DeduplicationScope === 'messageGroup');
    expect(queueId).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: sequencerId() },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: Match.anyValue() },
    });
  });

  it('alarms when a send reaches the dead-letter queue', () => {
    const dlqId = logicalIdOf('AWS::SQS::Queue', (p) => p.FifoQueue === true && !p.RedrivePolicy);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
  });

  it('lets only the send routes and the sequencer (its flush markers) enqueue, and gives every function the queue and the rate limits', () => {
    const queueId = logicalIdOf('AWS::SQS::Queue', (p) => p.DeduplicationScope === 'messageGroup');
    const policies = template.findResources('AWS::IAM::Policy');
    const senders = Object.values(policies).filter(
      (p) =>
        JSON.stringify(p.Properties.PolicyDocument).includes('"sqs:SendMessage"') &&
        JSON.stringify(p.Properties.PolicyDocument).includes(`"${queueId}"`),
    );
    expect(senders).toHaveLength(3);
    expect(
      Object.keys(policies).filter(
        (id) => senders.some((p) => p === policies[id]) && id.startsWith('MessageSequencer'),
      ),
    ).toHaveLength(1);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MESSAGE_QUEUE_URL: { Ref: queueId },
          SEND_RATE_PER_SECOND: String(DEFAULT_RATE_LIMITS.send.ratePerSecond),
          SEND_BURST: String(DEFAULT_RATE_LIMITS.send.burst),
        }),
      },
    });
  });
});
