import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ABUSE_LIMIT_ENV } from '#shared/config/abuse-limits.js';
import { RATE_LIMIT_ENV } from '#shared/config/rate-limits.js';
import { protectDataDir } from './data-dir.js';
import { type RunningEngine, startDynamoDbEngine, startElasticMq, startOpenSearch } from './engines/index.js';
import { supervise } from './engines/supervisor.js';
import {
  allFunctionsEnvironment,
  type LocalReplacements,
  localFunctionEnvironment,
  localTableName,
} from './environment.js';
import { type StreamPollers, startEventPollers } from './event-pollers/index.js';
import { localTableArn, readFunctionPolicies } from './function-policy.js';
import { startHttpFront } from './http-front.js';
import { LocalLambdas } from './lambdas.js';
import { readSchedules, startSchedules } from './schedules.js';
import { ensureQueues, readQueueMappings } from './sqs/index.js';
import { LocalExecutions, readStateMachines, startStepFunctionsServer } from './stepfunctions/index.js';
import { ensureTables } from './tables.js';
import { cachedTemplate } from './template-cache.js';
import { readTopology } from './topology.js';
import { startWebClient } from './web-client.js';
import { startWsFront } from './ws-front.js';

export interface LocalRuntimeOptions {
  readonly rootDir: string;
  readonly httpPort: number;
  readonly wsPort: number;
  /** Serves the web client on this port (0: any free one); none when undefined. */
  readonly webPort?: number;
  /** A directory for persistent data, or `:memory:`. */
  readonly dataDir: string;
  /** Modules every function's thread loads before its entry (instrumentation; see `LocalLambdasOptions`). */
  readonly functionPreload?: readonly string[];
  /**
   * When every function's thread is loaded (about a second of CPU each): `true` before returning, so
   * nothing measured afterwards pays a cold start; `'background'` after returning, one at a time, so a
   * function's first caller rarely pays one and never a whole core's worth of them at once; otherwise
   * (default) each on its first invocation.
   */
  readonly warmUp?: boolean | 'background';
}

export interface LocalRuntime {
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** The web client, when `webPort` was given. */
  readonly webUrl?: string;
  readonly dynamoEndpoint: string;
  readonly searchEndpoint: string;
  readonly sqsEndpoint: string;
  readonly sfnEndpoint: string;
  /** The stream pollers (event source mappings), e.g. to wait until the index caught up. */
  readonly streams: StreamPollers;
  /** Saga executions (Step Functions), e.g. to wait for one to end. */
  readonly executions: LocalExecutions;
  /**
   * Every function's variables together (table names, endpoints), for tests and tools that call the
   * product code in their own process; each function itself runs with only its own.
   */
  readonly environment: Record<string, string>;
  /** The engines' processes (a supervised engine's `pid` follows its restarts). */
  readonly engines: {
    readonly dynamodb: RunningEngine;
    readonly sqs: RunningEngine;
    readonly search: RunningEngine;
  };
  stop(): Promise<void>;
}

/** Written into a persistent data directory while the runtime runs. */
export const RUNTIME_INFO_FILE = 'runtime.json';

/** The WebSocket stage name that appears in event request contexts. */
const WS_STAGE = 'local';
/**
 * Send/receive/delete rounds ElasticMQ runs before the runtime starts (`warmUpElasticMq`), so that the
 * first burst of messages does not also pay the JVM's compilation of its request path.
 */
const QUEUE_ENGINE_WARM_UP_ROUNDS = 200;

/**
 * Starts the whole backend on loopback: the DynamoDB engine, ElasticMQ and OpenSearch, the tables and queues
 * of the synthesized template, the HTTP and WebSocket fronts that invoke the template's functions from
 * their sources, and the stream pollers that run its event source mappings.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const persistent = options.dataDir !== ':memory:';
  const dataDir = persistent ? resolve(options.dataDir) : undefined;
  if (dataDir) {
    await protectDataDir(dataDir);
    await mkdir(join(dataDir, 'dynamodb'), { recursive: true });
  }

  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => console.error('stop:', err));
  };
  try {
    // The engines start in parallel; each registers its stop as soon as it runs.
    const started = <T extends { stop(): Promise<void> }>(engine: T): T => {
      stops.unshift(() => engine.stop());
      return engine;
    };
    // The engines start while the template is synthesized (or read from its cache).
    // Without a data directory the index still lives in a directory of this run, so that a restarted
    // OpenSearch comes back with what it had.
    const searchData = dataDir ? join(dataDir, 'opensearch') : await mkdtemp(join(tmpdir(), 'chat-search-'));
    if (!dataDir) stops.push(() => rm(searchData, { recursive: true, force: true }));
    // Queues are re-created after ElasticMQ restarts (it keeps them in memory); a template is needed.
    let queuesOf: (() => Promise<unknown>) | undefined;
    const [dynamo, sqs, search, template] = await Promise.all([
      // In memory, a restarted DynamoDB engine would come back empty: only a persistent one is restarted.
      (dataDir
        ? supervise({ start: (port) => startDynamoDbEngine({ dbPath: join(dataDir, 'dynamodb'), port }) })
        : startDynamoDbEngine({})
      ).then((engine: RunningEngine) => started(engine)),
      supervise({
        start: (port) => startElasticMq({ port, warmUpRounds: QUEUE_ENGINE_WARM_UP_ROUNDS }),
        afterRestart: async () => {
          await queuesOf?.();
        },
      }).then(started),
      supervise({ start: (port) => startOpenSearch({ dataPath: searchData, port }) }).then(started),
      cachedTemplate(options.rootDir),
    ]);
    const topology = readTopology(template);
    // The functions' key pair: the engines accept any, but the local `@connections` API checks its
    // signature, so only the runtime's own functions (or whoever is given the secret) can push or close.
    const credentials = {
      accessKeyId: 'local',
      secretAccessKey: process.env.LOCAL_SECRET_ACCESS_KEY ?? randomBytes(24).toString('hex'),
    };
    const sdkEnv = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      // The SDK warns once per JavaScript realm (each function thread) that its 2027 releases need
      // Node.js 22; the stack's Lambda runtime is Node.js 24, and locally 57 copies bury real errors.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    Object.assign(process.env, sdkEnv);
    await ensureTables(new DynamoDBClient({ endpoint: dynamo.endpoint }), topology);
    // ElasticMQ keeps queues in memory: queued sends and dead letters are gone after a restart. No send
    // is lost by that: a queued send was never acknowledged, and its sender retries it. Sends the
    // sequencer held are on their conversation items; they get a wake-up once the pollers run.
    const sqsClient = new SQSClient({ endpoint: sqs.endpoint });
    const queues = await ensureQueues(sqsClient, template);
    queuesOf = () => ensureQueues(sqsClient, template);
    const queueUrls = new Map([...queues].map(([id, q]) => [id, q.url]));

    const machines = readStateMachines(template);
    const tableIds = new Set(topology.tables.keys());
    // Each function's grants, with tables, queues and state machines named by their local ARNs.
    const policies = readFunctionPolicies(template, topology.functions.keys(), (id, attr) => {
      if (tableIds.has(id)) {
        const arn = localTableArn(localTableName(id));
        return attr === 'Arn' ? arn : attr === 'StreamArn' ? `${arn}/stream/local` : undefined;
      }
      if (attr === 'Arn') return queues.get(id)?.arn;
      return attr === undefined ? machines.find((m) => m.logicalId === id)?.arn : undefined;
    });
    // The functions' environment names the fronts and servers started below; no function runs before.
    let environmentOf: ((functionId: string) => Record<string, string>) | undefined;
    const lambdas = new LocalLambdas(topology, options.rootDir, {
      environment: (functionId) => {
        if (!environmentOf) throw new Error(`${functionId} invoked before the runtime finished starting`);
        return environmentOf(functionId);
      },
      policies,
      queueArns: new Map([...queues.values()].map((q) => [q.url, q.arn])),
      preload: options.functionPreload,
    });
    stops.push(() => lambdas.stop());
    // The management API lives on the WebSocket front, so it starts before any handler is loaded.
    const ws = await startWsFront(topology.ws, lambdas, options.wsPort, WS_STAGE, { credentials });
    stops.push(() => ws.close());
    const executions = new LocalExecutions(machines, (functionId, input) =>
      lambdas.invoke(functionId, input),
    );
    const stepFunctions = await startStepFunctionsServer(executions);
    stops.push(async () => {
      executions.abortAll();
      await stepFunctions.close();
    });
    const refs = new Map([...queueUrls, ...machines.map((m) => [m.logicalId, m.arn] as const)]);
    const platform = {
      ...sdkEnv,
      AWS_ENDPOINT_URL_SFN: stepFunctions.endpoint,
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      // Embedded-metric lines are for CloudWatch; locally they would only crowd the output.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      // Local tuning the template does not set (a cheaper password KDF for tests, shorter tokens).
      ...fromProcessEnv(LOCAL_TUNING),
    };
    const replacements: LocalReplacements = {
      WS_CALLBACK_URL: { WS_CALLBACK_URL: ws.callbackUrl },
      SEARCH_ENDPOINT: { SEARCH_ENDPOINT: search.endpoint },
      SEARCH_SIGNING: { SEARCH_SIGNING: 'none' },
      TOKEN_SECRET_ARN: { TOKEN_SECRET: process.env.TOKEN_SECRET ?? (await tokenSecret(dataDir)) },
      // Rate limits may be changed for a local run, as `-c` context changes them for a deployment.
      ...Object.fromEntries(
        Object.entries(
          fromProcessEnv([
            ...Object.values(RATE_LIMIT_ENV),
            ...Object.values(ABUSE_LIMIT_ENV),
            'MAX_CONNECTIONS_PER_USER',
            'PRESENCE_TIMEOUT_SECONDS',
          ]),
        ).map(([name, value]) => [name, { [name]: value }]),
      ),
    };
    environmentOf = (functionId: string) =>
      localFunctionEnvironment(topology, functionId, { platform, replacements }, refs);
    // The runtime's own use of the product code (waking held conversations) and in-process tools see
    // every function's variables; each function sees only its own.
    const environment = allFunctionsEnvironment(
      topology,
      { ...platform, ...Object.assign({}, ...Object.values(replacements)) },
      refs,
    );
    Object.assign(process.env, environment);
    if (options.warmUp === true) await lambdas.warmUp();

    // The event source mappings run in a thread of their own (see event-pollers/index.ts).
    const pollers = await startEventPollers(
      {
        template,
        dynamoEndpoint: dynamo.endpoint,
        sqsEndpoint: sqs.endpoint,
        tableNames: Object.fromEntries([...topology.tables.keys()].map((id) => [id, localTableName(id)])),
        queueUrls: Object.fromEntries(queueUrls),
        queues: Object.fromEntries(queues),
        queueMappings: readQueueMappings(template),
        functionIds: [...topology.functions.keys()],
        ...(dataDir ? { checkpointDir: join(dataDir, 'streams') } : {}),
      },
      (functionId, event) => lambdas.invoke(functionId, event),
    );
    stops.push(() => pollers.stop());
    if (dataDir) {
      // Imported now, with the functions' environment in place, as the handlers were.
      const { wakeHeldConversations } = await import('#shared/domain/sequencer.js');
      await wakeHeldConversations();
    }

    stops.push(startSchedules(readSchedules(template), lambdas));

    let httpUrl = '';
    const web =
      options.webPort === undefined
        ? undefined
        : await startWebClient(options.webPort, () => ({ httpUrl, wsUrl: ws.url }));
    if (web) stops.push(() => web.close());
    const http = await startHttpFront(topology.http, lambdas, options.httpPort, {
      wsUrl: ws.url,
      corsOrigins: web ? [web.url] : [],
    });
    httpUrl = http.url;
    stops.push(() => http.close());
    if (dataDir) {
      // Lets operational commands (invariant checker, backfill, replay) find the running engines.
      const info = {
        httpUrl: http.url,
        wsUrl: ws.url,
        dynamoEndpoint: dynamo.endpoint,
        searchEndpoint: search.endpoint,
        sqsEndpoint: sqs.endpoint,
        dlqUrl: environment.SEARCH_DLQ_URL,
        sfnEndpoint: stepFunctions.endpoint,
        pid: process.pid,
      };
      await writeFile(join(dataDir, RUNTIME_INFO_FILE), JSON.stringify(info, null, 2));
      stops.push(() => rm(join(dataDir, RUNTIME_INFO_FILE), { force: true }));
    }
    if (options.warmUp === 'background') {
      // On AWS a cold start costs the caller who meets it and no one else; here it is a second of a
      // shared core, so the first caller of each function would also slow everyone else's requests.
      const started = performance.now();
      // A function that fails to load fails its invocations too; the others still load.
      void lambdas
        .warmUp({
          concurrency: 1,
          onLoadError: (functionId, err) => console.error(`warm-up of ${functionId}:`, err),
        })
        .then((done) => {
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          if (done)
            console.log(`warm-up: ${topology.functions.size} function threads loaded in ${seconds} s`);
        });
    }
    return {
      httpUrl: http.url,
      wsUrl: ws.url,
      webUrl: web?.url,
      dynamoEndpoint: dynamo.endpoint,
      searchEndpoint: search.endpoint,
      sqsEndpoint: sqs.endpoint,
      sfnEndpoint: stepFunctions.endpoint,
      streams: pollers.streams,
      executions,
      environment,
      engines: { dynamodb: dynamo, sqs, search },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Variables the product code reads that the template leaves unset (defaults hold on AWS): a local run
 * may set them for every function, e.g. a cheap password KDF for tests that register many users.
 */
const LOCAL_TUNING = ['SCRYPT_N', 'SCRYPT_R', 'SCRYPT_P', 'TOKEN_TTL_SECONDS'];

/** The given variables that are set in this process. */
function fromProcessEnv(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    names.flatMap((name) => {
      const value = process.env[name];
      return value ? [[name, value]] : [];
    }),
  );
}

/** A signing secret per data directory, so tokens survive a restart; a fresh one for `:memory:`. */
async function tokenSecret(dataDir: string | undefined): Promise<string> {
  if (!dataDir) return randomBytes(32).toString('hex');
  const file = join(dataDir, 'token-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const secret = randomBytes(32).toString('hex');
    await writeFile(file, secret, { mode: 0o600 });
    return secret;
  }
}
