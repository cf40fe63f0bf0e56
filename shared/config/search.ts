import { required } from './rate-limits.js';

/** How requests to the search domain are authenticated. */
export type SearchSigning = 'aws' | 'none';

export interface SearchConfig {
  /** Base URL of the domain: `https://search-….es.amazonaws.com` on AWS, `http://127.0.0.1:<port>` locally. */
  readonly endpoint: string;
  /** `aws`: SigV4 with the function's role (service `es`); `none`: plain HTTP (local node). */
  readonly signing: SearchSigning;
  /** Region for SigV4; from AWS_REGION (set on Lambda). */
  readonly region: string | undefined;
}

/** Reads and checks the search configuration; a missing or malformed variable fails with its name. */
export function readSearchConfig(env: NodeJS.ProcessEnv): SearchConfig {
  const endpoint = required('SEARCH_ENDPOINT', env);
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(url.protocol);
  } catch {
    throw new Error(`SEARCH_ENDPOINT is not an http(s) URL: ${endpoint}`);
  }
  const signing = required('SEARCH_SIGNING', env);
  if (signing !== 'aws' && signing !== 'none') {
    throw new Error(`SEARCH_SIGNING must be "aws" or "none", got "${signing}"`);
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (signing === 'aws' && !region)
    throw new Error('Missing environment variable AWS_REGION (SigV4 signing)');
  return { endpoint: endpoint.replace(/\/+$/, ''), signing, region };
}

/** The scheduled search reconciler's settings. */
export interface ReconcilerConfig {
  /** Items one run may read (`RECONCILE_BUDGET`); undefined: the reconciler's default. */
  readonly budget: number | undefined;
  /** Whether the indexer's dead-letter queue is wired (`SEARCH_DLQ_URL` set), so the run settles it. */
  readonly deadLetters: boolean;
}

/** Reads the scheduled reconciler's settings; a budget that is not a positive integer fails fast. */
export function readReconcilerConfig(env: NodeJS.ProcessEnv): ReconcilerConfig {
  const raw = env.RECONCILE_BUDGET;
  const budget = raw ? Number(raw) : undefined;
  if (budget !== undefined && !(Number.isSafeInteger(budget) && budget > 0))
    throw new Error(`RECONCILE_BUDGET must be a positive integer, got "${raw}"`);
  return { budget, deadLetters: Boolean(env.SEARCH_DLQ_URL) };
}
