import { type AbuseLimits, readAbuseLimits } from './abuse-limits.js';
import { type AuthConfig, readAuthConfig } from './auth.js';
import { type ConnectionSettings, readConnectionSettings } from './connections.js';
import { type RateLimits, readRateLimits, required } from './rate-limits.js';
import {
  type ReconcilerConfig,
  readReconcilerConfig,
  readSearchConfig,
  type SearchConfig,
} from './search.js';
import { type OrderWindowLimits, readOrderWindowLimits } from './send-order.js';
import { type TableName, tableEnvVar, tableNames } from './table-names.js';

/** The environment variable holding the send queue's URL (set by the CDK stack). */
export const MESSAGE_QUEUE_URL_ENV = 'MESSAGE_QUEUE_URL';

/**
 * The one typed configuration of a function: every environment variable the product reads is read
 * here, once per container. Settings with defaults are parsed when the configuration is first built
 * (an invalid value fails the cold start's first request, on every path). Variables only some functions
 * are given (the template gives each function its own set) are required on first use, with their name.
 */
export interface Config {
  readonly tables: Record<TableName, string>;
  /** `@connections` endpoint of the WebSocket API (stage URL on AWS, the local front locally). */
  readonly wsCallbackUrl: string;
  /** The send queue (FIFO, one message group per conversation). */
  readonly messageQueueUrl: string;
  /** State machines of the sagas (optional: only the functions that start them need them). */
  readonly stateMachines: { readonly createGroup?: string; readonly deleteAccount?: string };
  readonly auth: AuthConfig;
  readonly rateLimits: RateLimits;
  readonly abuseLimits: AbuseLimits;
  readonly connections: ConnectionSettings;
  /** The sequencer's reorder window bounds. */
  readonly sendOrder: OrderWindowLimits;
  /** The search domain (only the functions that index or search get it). */
  readonly search: SearchConfig;
  /** The scheduled search reconciler's settings. */
  readonly reconciler: ReconcilerConfig;
  /** The stream indexer's dead-letter queue (`SEARCH_DLQ_URL`). */
  readonly searchDeadLetterQueueUrl: string;
  /**
   * Where the token-signing key comes from: `TOKEN_SECRET` itself (the local runtime generates one per
   * data directory) or the Secrets Manager secret the stack creates (`TOKEN_SECRET_ARN`).
   */
  readonly tokenSecret: { readonly value?: string; readonly arn?: string };
}

/** A setting read on first use and kept (a required variable only some functions get). */
function lazy<T>(read: () => T): () => T {
  let value: { v: T } | undefined;
  return () => {
    value ??= { v: read() };
    return value.v;
  };
}

/** Reads the configuration from an environment; throws on a missing table or an invalid setting. */
export function readConfig(env: NodeJS.ProcessEnv): Config {
  const tables = {} as Record<TableName, string>;
  for (const name of tableNames) tables[name] = required(tableEnvVar(name), env);
  const search = lazy(() => readSearchConfig(env));
  return {
    tables,
    get wsCallbackUrl() {
      return required('WS_CALLBACK_URL', env);
    },
    get messageQueueUrl() {
      return required(MESSAGE_QUEUE_URL_ENV, env);
    },
    stateMachines: {
      createGroup: env.CREATE_GROUP_STATE_MACHINE_ARN,
      deleteAccount: env.DELETE_ACCOUNT_STATE_MACHINE_ARN,
    },
    auth: readAuthConfig(env),
    rateLimits: readRateLimits(env),
    abuseLimits: readAbuseLimits(env),
    connections: readConnectionSettings(env),
    sendOrder: readOrderWindowLimits(env),
    get search() {
      return search();
    },
    reconciler: readReconcilerConfig(env),
    get searchDeadLetterQueueUrl() {
      return required('SEARCH_DLQ_URL', env);
    },
    tokenSecret: { value: env.TOKEN_SECRET || undefined, arn: env.TOKEN_SECRET_ARN || undefined },
  };
}

let cached: Config | undefined;
/** The process-wide configuration, read from `process.env` on first use (the container's first request). */
export function config(): Config {
  cached ??= readConfig(process.env);
  return cached;
}

/** Logging, metrics and tracing settings: needed at module load, so kept apart from the tables. */
export interface ObservabilityConfig {
  /** `POWERTOOLS_SERVICE_NAME`, default `chat`. */
  readonly serviceName: string;
  /** `STAGE`, a metrics dimension; default `local`. */
  readonly stage: string;
  /**
   * Powertools' own rule for tracing: inside a Lambda execution environment (`AWS_EXECUTION_ENV` set)
   * and `POWERTOOLS_TRACE_ENABLED` not "false".
   */
  readonly tracing: boolean;
}

let observed: ObservabilityConfig | undefined;
/** The observability settings, read once from `process.env`. */
export function observability(): ObservabilityConfig {
  const env = process.env;
  observed ??= {
    serviceName: env.POWERTOOLS_SERVICE_NAME || 'chat',
    stage: env.STAGE || 'local',
    tracing:
      (env.AWS_EXECUTION_ENV ?? '') !== '' && (env.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() !== 'false',
  };
  return observed;
}
