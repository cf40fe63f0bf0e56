import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthTemplate } from '#infra/synth.js';
import { tableEnvVar, tableNames } from '#shared/config/table-names.js';
import { functionEnvironment } from '../environment.js';
import { RUNTIME_INFO_FILE } from '../runtime.js';
import { readTopology } from '../topology.js';

const rootDir = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Points this process at a deployment for an operational command. With the table variables already
 * set (e.g. from a deployed stack) it uses them and the standard AWS configuration; otherwise it
 * finds the local runtime through `$DATA_DIR/runtime.json` and the template's local table names.
 */
export async function connectToDeployment(): Promise<string> {
  if (tableNames.every((name) => process.env[tableEnvVar(name)])) return 'the configured AWS deployment';
  const dataDir = resolve(process.env.DATA_DIR ?? join(rootDir, '.data'));
  let info: { dynamoEndpoint: string };
  try {
    info = JSON.parse(await readFile(join(dataDir, RUNTIME_INFO_FILE), 'utf8'));
  } catch {
    throw new Error(
      `No running local runtime found in ${dataDir} (start it with npm start, or set the *_TABLE variables of a deployment)`,
    );
  }
  const env = functionEnvironment(readTopology(synthTemplate()), {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: info.dynamoEndpoint,
    WS_CALLBACK_URL: 'http://127.0.0.1:0',
  });
  Object.assign(process.env, env);
  return `the local runtime (${info.dynamoEndpoint})`;
}
