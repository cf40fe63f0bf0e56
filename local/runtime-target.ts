import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// Points an operational command (ops/) at the running local runtime: the one place where ops code reaches
// into the local runtime, and only when no AWS deployment is configured.
import { allFunctionsEnvironment } from './environment.js';
import { RUNTIME_INFO_FILE } from './runtime.js';
import { readStateMachines } from './stepfunctions/index.js';
import { cachedTemplate } from './template-cache.js';
import { readTopology } from './topology.js';

const rootDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * Sets this process's environment as a function of the running local runtime sees it: the engines'
 * endpoints from `$DATA_DIR/runtime.json` and the template's local table names and state machine ARNs.
 * Returns a description of the target; throws when no local runtime is running.
 */
export async function connectToLocalRuntime(): Promise<string> {
  const dataDir = resolve(process.env.DATA_DIR ?? join(rootDir, '.data'));
  let info: {
    dynamoEndpoint: string;
    wsUrl: string;
    searchEndpoint?: string;
    sqsEndpoint?: string;
    sfnEndpoint?: string;
    dlqUrl?: string;
  };
  try {
    info = JSON.parse(await readFile(join(dataDir, RUNTIME_INFO_FILE), 'utf8'));
  } catch {
    throw new Error(
      `No running local runtime found in ${dataDir} (start it with npm start, or set the *_TABLE variables of a deployment)`,
    );
  }
  const template = await cachedTemplate(rootDir);
  const machines = readStateMachines(template).map((m) => [m.logicalId, m.arn] as const);
  const optional = (name: string, value: string | undefined) => (value ? { [name]: value } : {});
  const env = allFunctionsEnvironment(
    readTopology(template),
    {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: info.dynamoEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: info.dynamoEndpoint,
      WS_CALLBACK_URL: info.wsUrl.replace(/^ws/, 'http'),
      SEARCH_SIGNING: 'none',
      ...optional('SEARCH_ENDPOINT', info.searchEndpoint),
      ...optional('AWS_ENDPOINT_URL_SQS', info.sqsEndpoint),
      ...optional('AWS_ENDPOINT_URL_SFN', info.sfnEndpoint),
      ...optional('SEARCH_DLQ_URL', info.dlqUrl),
    },
    new Map(machines),
  );
  Object.assign(process.env, env);
  return `the local runtime (${info.dynamoEndpoint})`;
}
