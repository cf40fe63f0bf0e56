import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { CfnTemplate } from '#infra/synth.js';

/** Creates every SQS queue of the template in ElasticMQ (named by logical id); returns logical id → URL. */
export async function ensureQueues(client: SQSClient, template: CfnTemplate): Promise<Map<string, string>> {
  const urls = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::SQS::Queue') continue;
    const res = await client.send(new CreateQueueCommand({ QueueName: logicalId }));
    if (res.QueueUrl) urls.set(logicalId, res.QueueUrl);
  }
  return urls;
}
