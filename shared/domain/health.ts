import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { searchClient } from '../adapters/opensearch.js';
import { sqsClient } from '../clients/sqs.js';
import { config } from '../config/env.js';
import { pingDatabase } from '../data/health-repo.js';

export type DependencyStatus = 'ok' | 'unavailable';

/** Each dependency the API needs, and whether it answered. */
export interface DependencyReport {
  database: DependencyStatus;
  search: DependencyStatus;
  sendQueue: DependencyStatus;
}

/** How long one dependency may take to answer a health probe. */
const PROBE_TIMEOUT_MS = 2_000;

async function probe(check: () => Promise<unknown>): Promise<DependencyStatus> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), late]);
    return 'ok';
  } catch {
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes every dependency at once: a strongly consistent read of DynamoDB, the search domain's cluster
 * health (red counts as unavailable) and the send queue's attributes. Never throws.
 */
export async function checkDependencies(): Promise<DependencyReport> {
  const [database, search, sendQueue] = await Promise.all([
    probe(() => pingDatabase()),
    probe(async () => {
      const res = await searchClient().cluster.health(
        {},
        { requestTimeout: PROBE_TIMEOUT_MS, maxRetries: 0 },
      );
      if ((res.body as { status?: string }).status === 'red') throw new Error('cluster red');
    }),
    probe(async () => {
      const queueUrl = config().messageQueueUrl;
      await sqsClient().send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      );
    }),
  ]);
  return { database, search, sendQueue };
}
