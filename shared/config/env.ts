import { type TableName, tableEnvVar, tableNames } from './table-names.js';

/** Typed configuration, read once at cold start; a missing variable fails fast with its name. */
export interface Config {
  readonly tables: Record<TableName, string>;
  /** `@connections` endpoint of the WebSocket API (stage URL on AWS, the local front locally). */
  readonly wsCallbackUrl: string;
  /** State machines of the sagas (optional: only the functions that start them need them). */
  readonly stateMachines: { readonly createGroup?: string; readonly deleteAccount?: string };
}

function required(name: string, env: NodeJS.ProcessEnv): string {
  const value = env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}

/** Reads the configuration from an environment (the process's by default). */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const tables = {} as Record<TableName, string>;
  for (const name of tableNames) tables[name] = required(tableEnvVar(name), env);
  return {
    tables,
    // Only functions that push get it (a stack dependency on the WebSocket API); checked on first use.
    get wsCallbackUrl() {
      return required('WS_CALLBACK_URL', env);
    },
    stateMachines: {
      createGroup: env.CREATE_GROUP_STATE_MACHINE_ARN,
      deleteAccount: env.DELETE_ACCOUNT_STATE_MACHINE_ARN,
    },
  };
}

let cached: Config | undefined;
/** The process-wide configuration, read on first use. */
export function config(): Config {
  cached ??= readConfig();
  return cached;
}
