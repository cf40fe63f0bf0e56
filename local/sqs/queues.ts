// The template's SQS queues, created in ElasticMQ with the attributes that change behaviour locally.
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type QueueAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { CfnTemplate } from '#infra/synth.js';

/** A created queue: its URL (what `Ref` gives), its ARN (`Fn::GetAtt [q, Arn]`) and whether it is FIFO. */
export interface LocalQueue {
  readonly logicalId: string;
  readonly url: string;
  readonly arn: string;
  readonly fifo: boolean;
  /** The queue's VisibilityTimeout, seconds (SQS's default, 30, when the template sets none). */
  readonly visibilityTimeoutSeconds: number;
}

/**
 * Local queue name: the logical id, with the `.fifo` suffix SQS requires of FIFO queues; stable across
 * runs like table names.
 */
export const localQueueName = (logicalId: string, fifo: boolean) => (fifo ? `${logicalId}.fifo` : logicalId);

/**
 * Creates every `AWS::SQS::Queue` of the template (dead-letter targets first) with FIFO, visibility
 * timeout, retention, delay and redrive policy as declared. Attributes ElasticMQ has no use for (server
 * side encryption, high-throughput FIFO quotas) are left out. Returns them by logical id.
 */
export async function ensureQueues(
  client: SQSClient,
  template: CfnTemplate,
): Promise<Map<string, LocalQueue>> {
  const declared = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
  const queues = new Map<string, LocalQueue>();
  const pending = new Map(declared);
  // Dead-letter queues must exist before the queues whose redrive policy names them.
  while (pending.size > 0) {
    let progressed = false;
    for (const [logicalId, resource] of pending) {
      const p = resource.Properties ?? {};
      const redrive = p.RedrivePolicy as
        | { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown }
        | undefined;
      const targetId = redrive ? getAttTarget(redrive.deadLetterTargetArn) : undefined;
      if (targetId && !queues.has(targetId)) continue;
      const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
      const attributes: Partial<Record<QueueAttributeName, string>> = {};
      if (fifo) {
        attributes.FifoQueue = 'true';
        attributes.ContentBasedDeduplication = String(p.ContentBasedDeduplication === true);
      }
      for (const name of ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds'] as const) {
        if (p[name] !== undefined) attributes[name] = String(p[name]);
      }
      if (redrive && targetId) {
        attributes.RedrivePolicy = JSON.stringify({
          deadLetterTargetArn: queues.get(targetId)?.arn,
          maxReceiveCount: Number(redrive.maxReceiveCount),
        });
      }
      const created = await client.send(
        new CreateQueueCommand({ QueueName: localQueueName(logicalId, fifo), Attributes: attributes }),
      );
      const url = created.QueueUrl as string;
      const attrs = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
      );
      queues.set(logicalId, {
        logicalId,
        url,
        arn: attrs.Attributes?.QueueArn as string,
        fifo,
        visibilityTimeoutSeconds: p.VisibilityTimeout === undefined ? 30 : Number(p.VisibilityTimeout),
      });
      pending.delete(logicalId);
      progressed = true;
    }
    if (!progressed)
      throw new Error(`Queues with unresolvable redrive targets: ${[...pending.keys()].join(', ')}`);
  }
  return queues;
}

/** `{"Fn::GetAtt": [id, "Arn"]}` → id. */
function getAttTarget(value: unknown): string | undefined {
  const getAtt = (value as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
}

/** The URLs of the template's queues in a running ElasticMQ, by logical id (for processes that did not create them). */
export async function lookupQueueUrls(
  client: SQSClient,
  template: CfnTemplate,
): Promise<Map<string, string>> {
  const urls = new Map<string, string>();
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::SQS::Queue') continue;
    const fifo = r.Properties?.FifoQueue === true || r.Properties?.FifoQueue === 'true';
    const res = await client.send(new GetQueueUrlCommand({ QueueName: localQueueName(logicalId, fifo) }));
    if (res.QueueUrl) urls.set(logicalId, res.QueueUrl);
  }
  return urls;
}
