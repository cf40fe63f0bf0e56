import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { TestProject } from 'vitest/node';
import { installDynamoDbEngine, installElasticMq, installOpenSearch } from '#local/engines/index.js';
import { allFunctionsEnvironment } from '#local/environment.js';
import { lookupQueueUrls } from '#local/sqs/index.js';
import { readStateMachines } from '#local/stepfunctions/index.js';
import { cachedTemplate } from '#local/template-cache.js';
import { readTopology } from '#local/topology.js';
import { remoteTarget } from './remote-target.js';
import { startRuntimeProcess } from './runtime-process.js';

const ARTIFACTS = new URL('../../artifacts/', import.meta.url);

declare module 'vitest' {
  export interface ProvidedContext {
    httpUrl: string;
    wsUrl: string;
    /** The local web client (empty against a deployment). */
    webUrl: string;
    /** Environment for in-process handler tests: table names and endpoints of the running engines. */
    handlerEnv: Record<string, string>;
  }
}

/**
 * Starts the local runtime once (the DynamoDB engine included). Unit tests ignore it; integration tests run
 * handlers in-process against its DynamoDB engine; end-to-end tests talk to its HTTP and WebSocket fronts.
 */
const TOKEN_SECRET = 'test-run-only-secret-0123456789abcdef0123456789';
/** The runtime's functions sign `@connections` calls with this key; in-process handlers need the same. */
const LOCAL_SECRET_ACCESS_KEY = `test-run-${process.pid}-${Date.now().toString(36)}`;

export default async function setup(project: TestProject) {
  const remote = remoteTarget();
  if (remote) {
    // A deployment under test (LocalStack or AWS): only the end-to-end suite applies.
    project.provide('httpUrl', remote.httpUrl);
    project.provide('wsUrl', remote.wsUrl);
    project.provide('webUrl', '');
    project.provide('handlerEnv', {});
    return;
  }
  // On a clean machine the engines are built and fetched first (minutes, with progress on stderr), so
  // that the runtime's start-up timeout never includes them.
  for (const install of [installDynamoDbEngine, installElasticMq, installOpenSearch]) await install();
  // One signing secret for the runtime and in-process handlers, so tokens work across both.
  // A send burst of 120 lets the ordering test put 100 frames on one connection without throttling; the
  // flood tests still go past it. Every test file's clients share one address (hundreds of registrations
  // from 127.0.0.1) and many tests put one user's requests in flight at once, so the fronts admit 8 per
  // caller instead of 2, with no rate (the admission itself is unit-tested; bench:abuse measures it at the
  // defaults).
  // Everything else runs with the stack's defaults.
  const runtime = await startRuntimeProcess({
    TOKEN_SECRET,
    LOCAL_SECRET_ACCESS_KEY,
    SEND_BURST: process.env.SEND_BURST ?? '120',
    LOCAL_CALLER_CONCURRENCY: process.env.LOCAL_CALLER_CONCURRENCY ?? '8',
    LOCAL_CALLER_RATE: process.env.LOCAL_CALLER_RATE ?? 'Infinity',
  });
  const template = await cachedTemplate(fileURLToPath(new URL('../..', import.meta.url)));
  const topology = readTopology(template);
  const sqs = new SQSClient({
    endpoint: runtime.sqsEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const refs = new Map([
    ...readStateMachines(template).map((m) => [m.logicalId, m.arn] as const),
    ...(await lookupQueueUrls(sqs, template)),
  ]);
  sqs.destroy();
  project.provide('httpUrl', runtime.httpUrl);
  project.provide('wsUrl', runtime.wsUrl);
  project.provide('webUrl', runtime.webUrl);
  project.provide(
    'handlerEnv',
    allFunctionsEnvironment(
      topology,
      {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY,
        AWS_ENDPOINT_URL_DYNAMODB: runtime.dynamoEndpoint,
        AWS_ENDPOINT_URL_DYNAMODB_STREAMS: runtime.dynamoEndpoint,
        AWS_ENDPOINT_URL_SQS: runtime.sqsEndpoint,
        AWS_ENDPOINT_URL_SFN: runtime.sfnEndpoint,
        SEARCH_ENDPOINT: runtime.searchEndpoint,
        SEARCH_SIGNING: 'none',
        WS_CALLBACK_URL: runtime.wsUrl.replace(/^ws/, 'http'),
        TOKEN_SECRET,
        // In-process tests create many users; the KDF's cost is measured by the auth benchmark instead.
        SCRYPT_N: '1024',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      refs,
    ),
  );
  return async () => {
    const code = await runtime.stop();
    // The runtime's own log (its functions' errors included), for reading after a failed run.
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(new URL('runtime.log', ARTIFACTS), runtime.output());
    if (code !== 0) console.error(`runtime exited with ${code}\n${runtime.output().slice(-2000)}`);
  };
}
