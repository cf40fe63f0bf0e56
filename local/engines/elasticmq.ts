// ElasticMQ (SQS-compatible, speaks the AWS JSON protocol of current @aws-sdk/client-sqs since 1.4).
import { join } from 'node:path';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
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
}

export async function startElasticMq(opts: ElasticMqOptions = {}): Promise<RunningEngine> {
  const home = await installElasticMq();
  const java = await findJava();
  const region = opts.region ?? 'us-east-1';
  return startOnPort(opts.port, (port) =>
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
}

async function listQueues(port: number, signal: AbortSignal): Promise<boolean> {
  const client = new SQSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await client.send(new ListQueuesCommand({}), { abortSignal: signal });
    return true;
  } finally {
    client.destroy();
  }
}
