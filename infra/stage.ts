import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { type AbuseLimits, DEFAULT_ABUSE_LIMITS } from '#shared/config/abuse-limits.js';
import {
  DEFAULT_MAX_CONNECTIONS_PER_USER,
  DEFAULT_PRESENCE_TIMEOUT_SECONDS,
} from '#shared/config/connections.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '#shared/config/rate-limits.js';

/** Settings that differ between deployment stages, chosen with `-c stage=dev|prod`. */
export interface StageConfig {
  readonly name: string;
  /** What happens to data-bearing resources when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly logRetention: RetentionDays;
  /** Steady-state and burst request limits per API stage. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly search: { readonly dataNodes: number; readonly instanceType: string; readonly volumeGb: number };
  /** Per-user send and per-connection frame limits (token buckets). */
  readonly rateLimits: RateLimits;
  /**
   * Browser origins allowed to call the HTTP API (CORS); `-c corsOrigins=https://a,https://b` replaces
   * them for a deployment. The WebSocket API needs none: browsers do not apply CORS to WebSockets.
   */
  readonly corsOrigins: readonly string[];
  /** Login throttling, password-hash concurrency and spam limits (docs/abuse-limits.md). */
  readonly abuseLimits: AbuseLimits;
  /** Open WebSocket connections per user; more are refused at the upgrade with 429. */
  readonly maxConnectionsPerUser: number;
  /** Seconds a connection counts as present after its last frame (docs/protocol.md#presence). */
  readonly presenceTimeoutSeconds: number;
  /**
   * True when the stage must name its AWS account and region (context `<stage>Account`, `<stage>Region`,
   * e.g. `-c prodAccount=123456789012 -c prodRegion=eu-west-1`, or set once in cdk.json), so that it
   * can never be deployed wherever the current credentials happen to point.
   */
  readonly pinned: boolean;
}

/** The local web client's default origins (`npm start` serves it on WEB_PORT, 3002 by default). */
export const LOCAL_WEB_ORIGINS = ['http://127.0.0.1:3002', 'http://localhost:3002'] as const;

const stages: Record<string, StageConfig> = {
  dev: {
    name: 'dev',
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    logRetention: RetentionDays.ONE_WEEK,
    throttle: { rateLimit: 200, burstLimit: 400 },
    search: { dataNodes: 1, instanceType: 't3.small.search', volumeGb: 10 },
    rateLimits: DEFAULT_RATE_LIMITS,
    // A developer's local web client may talk to the dev stage.
    corsOrigins: LOCAL_WEB_ORIGINS,
    abuseLimits: DEFAULT_ABUSE_LIMITS,
    maxConnectionsPerUser: DEFAULT_MAX_CONNECTIONS_PER_USER,
    presenceTimeoutSeconds: DEFAULT_PRESENCE_TIMEOUT_SECONDS,
    pinned: false,
  },
  prod: {
    name: 'prod',
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    logRetention: RetentionDays.THREE_MONTHS,
    throttle: { rateLimit: 2000, burstLimit: 4000 },
    search: { dataNodes: 2, instanceType: 'm6g.large.search', volumeGb: 50 },
    rateLimits: DEFAULT_RATE_LIMITS,
    // Set the production web origins with `-c corsOrigins=...`; none are allowed by default.
    corsOrigins: [],
    abuseLimits: DEFAULT_ABUSE_LIMITS,
    maxConnectionsPerUser: DEFAULT_MAX_CONNECTIONS_PER_USER,
    presenceTimeoutSeconds: DEFAULT_PRESENCE_TIMEOUT_SECONDS,
    pinned: true,
  },
};

/** Returns the stage settings for a name, failing fast on an unknown stage. */
export function stageConfig(name: string): StageConfig {
  const stage = stages[name];
  if (!stage) throw new Error(`Unknown stage "${name}"; expected one of ${Object.keys(stages).join(', ')}`);
  return stage;
}

/**
 * The account and region a stage deploys to. A pinned stage (prod) reads them from context
 * (`<stage>Account`, `<stage>Region`) and refuses to synthesize without them or with malformed values;
 * the CLI then refuses to deploy it with credentials of another account. Other stages stay
 * environment-agnostic (they deploy where the credentials point).
 */
export function stageEnvironment(
  scope: IConstruct,
  stage: StageConfig,
): { account: string; region: string } | undefined {
  if (!stage.pinned) return undefined;
  const account = String(scope.node.tryGetContext(`${stage.name}Account`) ?? '');
  const region = String(scope.node.tryGetContext(`${stage.name}Region`) ?? '');
  if (!/^\d{12}$/.test(account) || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new Error(
      `Stage ${stage.name} is pinned: set its account and region with -c ${stage.name}Account=<12 digits> ` +
        `-c ${stage.name}Region=<region> (or in cdk.json); got account "${account}", region "${region}"`,
    );
  }
  return { account, region };
}

/**
 * Context keys (`-c key=value`) that point functions and outputs at a target that is not AWS, such as
 * LocalStack (see localstack/README.md). None is set for AWS. Values may hold placeholders filled at
 * deploy time: `{apiId}` (the WebSocket API's id), `{stage}` (its stage name), `{wsApiEndpoint}` (the
 * WebSocket API's endpoint as the target reports it) and `{domainEndpoint}` (the OpenSearch domain's
 * endpoint as the target reports it).
 */
export const targetOverrideKeys = {
  /** `WS_CALLBACK_URL`, the `@connections` endpoint (AWS: the stage's callback URL). */
  wsCallbackUrl: 'wsCallbackUrl',
  /** The `WebSocketUrl` output (AWS: the stage's `wss://` URL). */
  wsUrl: 'wsUrl',
  /** `SEARCH_ENDPOINT` (AWS: `https://` and the domain endpoint). */
  searchEndpoint: 'searchEndpoint',
  /** `SEARCH_SIGNING`, `aws` or `none` (AWS: `aws`). */
  searchSigning: 'searchSigning',
} as const;

export interface TargetOverrides {
  readonly wsCallbackUrl?: string;
  readonly wsUrl?: string;
  /** Variables that replace the search side's defaults in every function's environment. */
  readonly searchEnvironment: Record<string, string>;
}

/** Reads the target overrides from context and fills their placeholders (tokens are fine as values). */
export function targetOverrides(scope: IConstruct, placeholders: Record<string, string>): TargetOverrides {
  const read = (key: string): string | undefined => {
    const value = scope.node.tryGetContext(key);
    if (value === undefined || value === '') return undefined;
    return String(value).replace(/\{(\w+)\}/g, (match, name: string) => {
      const filled = placeholders[name];
      if (filled === undefined) throw new Error(`Context ${key}: unknown placeholder ${match}`);
      return filled;
    });
  };
  const searchEnvironment: Record<string, string> = {};
  const searchEndpoint = read(targetOverrideKeys.searchEndpoint);
  if (searchEndpoint) searchEnvironment.SEARCH_ENDPOINT = searchEndpoint;
  const searchSigning = read(targetOverrideKeys.searchSigning);
  if (searchSigning) {
    if (searchSigning !== 'aws' && searchSigning !== 'none') {
      throw new Error(`Context searchSigning must be "aws" or "none", got "${searchSigning}"`);
    }
    searchEnvironment.SEARCH_SIGNING = searchSigning;
  }
  return {
    wsCallbackUrl: read(targetOverrideKeys.wsCallbackUrl),
    wsUrl: read(targetOverrideKeys.wsUrl),
    searchEnvironment,
  };
}
