// The search endpoint and dead-letter queue an operational command works on: SEARCH_ENDPOINT when set (a
// deployment), else those the running local runtime reports in its runtime.json (read as a file, no local
// runtime code imported).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const rootDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * For operational commands: when SEARCH_ENDPOINT is not set (no deployment configured), point this
 * process at the running local runtime's OpenSearch and dead-letter queue, read from
 * `$DATA_DIR/runtime.json` (`searchEndpoint`, `dlqUrl`), and send DynamoDB Streams and SQS calls to the
 * local engines. Call after `connectToDeployment()`. Returns a description of the target.
 */
export async function connectToSearch(): Promise<string> {
  if (process.env.SEARCH_ENDPOINT) {
    process.env.SEARCH_SIGNING ??= process.env.SEARCH_ENDPOINT.startsWith('https:') ? 'aws' : 'none';
    return `search at ${process.env.SEARCH_ENDPOINT}`;
  }
  const dataDir = resolve(process.env.DATA_DIR ?? join(rootDir, '.data'));
  let info: { searchEndpoint?: string; dlqUrl?: string; sqsEndpoint?: string; dynamoEndpoint?: string };
  try {
    info = JSON.parse(await readFile(join(dataDir, 'runtime.json'), 'utf8'));
  } catch {
    throw new Error(`Set SEARCH_ENDPOINT, or start the local runtime (no runtime.json in ${dataDir})`);
  }
  if (!info.searchEndpoint) {
    throw new Error(
      `The local runtime in ${dataDir} does not report a searchEndpoint (OpenSearch not wired?)`,
    );
  }
  process.env.SEARCH_ENDPOINT = info.searchEndpoint;
  process.env.SEARCH_SIGNING = 'none';
  if (info.dlqUrl && !process.env.SEARCH_DLQ_URL) {
    process.env.SEARCH_DLQ_URL = info.dlqUrl;
    process.env.AWS_ENDPOINT_URL_SQS ??= info.sqsEndpoint ?? new URL(info.dlqUrl).origin;
  }
  // The local DynamoDB engine serves the Streams API on its own endpoint.
  const dynamo = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? info.dynamoEndpoint;
  if (dynamo) process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS ??= dynamo;
  return `local search at ${info.searchEndpoint}`;
}
