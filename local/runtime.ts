import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { synthTemplate } from '#infra/synth.js';
import { startDynamoDbLocal } from './engines/dynamodb-local.js';
import { functionEnvironment } from './environment.js';
import { startHttpFront } from './http-front.js';
import { LocalLambdas } from './lambdas.js';
import { ensureTables } from './tables.js';
import { readTopology } from './topology.js';
import { startWsFront } from './ws-front.js';

export interface LocalRuntimeOptions {
  readonly rootDir: string;
  readonly httpPort: number;
  readonly wsPort: number;
  /** A directory for persistent data, or `:memory:`. */
  readonly dataDir: string;
}

export interface LocalRuntime {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly dynamoEndpoint: string;
  /** The environment handlers run with (table names, endpoints), for in-process tests. */
  readonly environment: Record<string, string>;
  stop(): Promise<void>;
}

/** Written into a persistent data directory while the runtime runs. */
export const RUNTIME_INFO_FILE = 'runtime.json';

/** The WebSocket stage name the template deploys; it appears in event request contexts. */
const WS_STAGE = 'local';

/**
 * Starts the whole backend on loopback: DynamoDB Local, the tables of the synthesized template, and the
 * HTTP and WebSocket fronts that invoke the template's functions from their sources.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const persistent = options.dataDir !== ':memory:';
  const dataDir = persistent ? resolve(options.dataDir) : undefined;
  if (dataDir) await mkdir(join(dataDir, 'dynamodb'), { recursive: true });

  const topology = readTopology(synthTemplate({ stage: 'dev' }));
  const dynamo = await startDynamoDbLocal({ dbPath: dataDir ? join(dataDir, 'dynamodb') : undefined });
  const stops: Array<() => Promise<void>> = [() => dynamo.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => console.error('stop:', err));
  };
  try {
    const sdkEnv = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    };
    Object.assign(process.env, sdkEnv);
    await ensureTables(new DynamoDBClient({ endpoint: dynamo.endpoint }), topology);

    const lambdas = new LocalLambdas(topology, options.rootDir);
    // The management API lives on the WebSocket front, so it starts before any handler is loaded.
    const ws = await startWsFront(topology.ws, lambdas, options.wsPort, WS_STAGE);
    stops.push(() => ws.close());
    const environment = functionEnvironment(topology, {
      ...sdkEnv,
      WS_CALLBACK_URL: ws.callbackUrl,
      TOKEN_SECRET: process.env.TOKEN_SECRET ?? (await tokenSecret(dataDir)),
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    });
    // Handlers read their configuration from process.env at cold start, exactly as on Lambda.
    Object.assign(process.env, environment);
    await lambdas.warmUp();
    const http = await startHttpFront(topology.http, lambdas, options.httpPort);
    stops.push(() => http.close());
    if (dataDir) {
      // Lets operational commands (invariant checker, backfill) find the running engines.
      const info = { httpUrl: http.url, wsUrl: ws.url, dynamoEndpoint: dynamo.endpoint, pid: process.pid };
      await writeFile(join(dataDir, RUNTIME_INFO_FILE), JSON.stringify(info, null, 2));
      stops.push(() => rm(join(dataDir, RUNTIME_INFO_FILE), { force: true }));
    }
    return { httpUrl: http.url, wsUrl: ws.url, dynamoEndpoint: dynamo.endpoint, environment, stop };
  } catch (err) {
    await stop();
    throw err;
  }
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
