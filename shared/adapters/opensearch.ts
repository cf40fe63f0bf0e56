import { Client, errors } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { ddb } from '../clients/dynamodb.js';
import { config } from '../config/env.js';
import type { SearchConfig } from '../config/search.js';

export type SearchClient = Client;

/** Default per-request budget; search handlers pass a shorter one (see `queryOptions`). */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A client for a configuration. With `aws` signing, requests are signed with SigV4 (service `es`) using
 * the credentials of the standard AWS chain (the function's role on Lambda), taken from the process's
 * DynamoDB client so that no extra credential package is needed.
 */
export function createSearchClient(cfg: SearchConfig): SearchClient {
  const base = { node: cfg.endpoint, requestTimeout: REQUEST_TIMEOUT_MS, maxRetries: 2 };
  if (cfg.signing === 'none') return new Client(base);
  return new Client({
    ...base,
    ...AwsSigv4Signer({
      region: cfg.region as string,
      service: 'es',
      getCredentials: () => ddb.config.credentials(),
    }),
  });
}

let shared: SearchClient | undefined;
/** The process-wide client, created on first use from SEARCH_ENDPOINT / SEARCH_SIGNING. */
export function searchClient(): SearchClient {
  shared ??= createSearchClient(config().search);
  return shared;
}

/** Closes the process-wide client (commands and benchmarks, so the process can exit). */
export async function closeSearchClient(): Promise<void> {
  const client = shared;
  shared = undefined;
  await client?.close();
}

/** Request options for interactive queries: a short budget, one retry on a dropped connection. */
export const queryOptions = { requestTimeout: 5_000, maxRetries: 1 } as const;

/** True when the domain could not be reached or refused for capacity reasons (a retry may work). */
export function isSearchUnavailable(err: unknown): boolean {
  if (
    err instanceof errors.ConnectionError ||
    err instanceof errors.TimeoutError ||
    err instanceof errors.NoLivingConnectionsError ||
    err instanceof errors.RequestAbortedError
  ) {
    return true;
  }
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode ?? 0;
    return status === 429 || status >= 500;
  }
  return false;
}

/** The `error.type` of an OpenSearch error response, e.g. `index_not_found_exception`. */
export function responseErrorType(err: unknown): string | undefined {
  if (!(err instanceof errors.ResponseError)) return undefined;
  const body = err.meta?.body as { error?: { type?: string } | string } | undefined;
  return typeof body?.error === 'object' ? body.error.type : undefined;
}
