// ElasticMQ (SQS-compatible, speaks the AWS JSON protocol of current @aws-sdk/client-sqs since 1.4).
import { join } from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { installOnce } from './cache.js';
import { findJava } from './java.js';
import { type Log, stderrLog } from './log.js';
import { copyDependencies } from './maven.js';
import { type RunningEngine, startEngine, startOnPort } from './process.js';
import { RECIPE_REVISION, versions } from './versions.js';

const KEY = `elasticmq-${versions.elasticMq}-${RECIPE_REVISION}`;

/** Fetches ElasticMQ into the cache if needed; returns its directory. */
export function installElasticMq(log: Log = stderrLog): Promise<string> {
  return installOnce(
    KEY,
    (dir) => copyDependencies('elasticmq', join(dir, 'lib'), log),
    () => log(`Fetching ElasticMQ ${versions.elasticMq} with Maven`),
  );
}

export interface ElasticMqOptions {
  /** undefined = a free port. */
  port?: number;
  /** Region in queue ARNs (ElasticMQ's default is "elasticmq"). */
  region?: string;
  /**
   * Rounds of send, receive and delete on a scratch FIFO queue before the engine counts as started
   * (see `warmUpElasticMq`); none by default.
   */
  warmUpRounds?: number;
}

export async function startElasticMq(opts: ElasticMqOptions = {}): Promise<RunningEngine> {
  const home = await installElasticMq();
  const java = await findJava();
  const region = opts.region ?? 'us-east-1';
  const engine = await startOnPort(opts.port, (port) =>
    startEngine({
      name: 'elasticmq',
      command: java.java,
      args: [
        '-XX:+UseSerialGC',
        // The client compiler only: a local queue's traffic is light, and C2's compilations were a
        // visible share of the CPU the first minutes of sends took from everything else.
        '-XX:TieredStopAtLevel=1',
        // ElasticMQ reads Typesafe Config, where system properties override its application.conf.
        '-Drest-sqs.bind-hostname=127.0.0.1',
        `-Drest-sqs.bind-port=${port}`,
        // Queue URLs handed to clients.
        '-Dnode-address.host=127.0.0.1',
        `-Dnode-address.port=${port}`,
        `-Daws.region=${region}`,
        // Pekko's dispatchers default to at least 8 threads; on a small machine, waking them for each
        // request cost more than the requests (about 10 threads at 2-3% of a core each under light load).
        ...['default-dispatcher', 'internal-dispatcher'].flatMap((d) => [
          `-Dpekko.actor.${d}.fork-join-executor.parallelism-min=1`,
          `-Dpekko.actor.${d}.fork-join-executor.parallelism-max=2`,
        ]),
        '-cp',
        join(home, 'lib', '*'),
        'org.elasticmq.server.Main',
      ],
      cwd: home,
      port,
      probe: (signal) => listQueues(port, signal),
      readyTimeoutMs: 60_000,
    }),
  );
  if (opts.warmUpRounds) {
    try {
      await warmUpElasticMq(engine.endpoint, opts.warmUpRounds);
    } catch (err) {
      await engine.stop();
      throw err;
    }
  }
  return engine;
}

const WARM_UP_QUEUE = 'engine-warm-up.fifo';

/**
 * Runs `rounds` of what the SQS trigger and the send path do (a batch of ten FIFO sends in two message
 * groups, a short-poll receive of up to ten, a batch delete) on a scratch queue, then deletes it. The JVM
 * interprets and compiles ElasticMQ's request path on its first few thousand requests: measured, the
 * first burst of messages after a start cost it 27-30% of a core, the same burst later 13-16%, and that
 * difference fell on whatever else the two cores were serving. ElasticMQ keeps queues in memory, so a
 * scratch queue left by a killed start is gone with that process.
 */
export async function warmUpElasticMq(endpoint: string, rounds: number): Promise<void> {
  const client = engineClient(endpoint);
  try {
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({
        QueueName: WARM_UP_QUEUE,
        Attributes: { FifoQueue: 'true', VisibilityTimeout: '30' },
      }),
    );
    for (let round = 0; round < rounds; round++) {
      await client.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: Array.from({ length: 10 }, (_, i) => ({
            Id: String(i),
            MessageBody: `{"warmUp":${round}}`,
            MessageGroupId: `g${i % 2}`,
            MessageDeduplicationId: `${round}-${i}`,
          })),
        }),
      );
      for (let left = 10, receives = 0; left > 0; receives++) {
        if (receives === 100) throw new Error('ElasticMQ warm-up: sent messages were not received');
        const { Messages = [] } = await client.send(
          new ReceiveMessageCommand({
            QueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        if (Messages.length === 0) continue;
        left -= Messages.length;
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    }
    await client.send(new DeleteQueueCommand({ QueueUrl }));
  } finally {
    client.destroy();
  }
}

async function listQueues(port: number, signal: AbortSignal): Promise<boolean> {
  const client = engineClient(`http://127.0.0.1:${port}`);
  try {
    await client.send(new ListQueuesCommand({}), { abortSignal: signal });
    return true;
  } finally {
    client.destroy();
  }
}

/** An SQS client for the engine itself (probe, warm-up): any key pair, no retries. */
function engineClient(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}
