import { readFileSync } from 'node:fs';

export interface RemoteTarget {
  httpUrl: string;
  wsUrl: string;
}

/**
 * The deployment the end-to-end suite runs against when it is not the local runtime: `E2E_HTTP_URL` and
 * `E2E_WS_URL`, or the stack outputs file `cdk deploy --outputs-file` wrote (`E2E_OUTPUTS_FILE`).
 */
export function remoteTarget(env: NodeJS.ProcessEnv = process.env): RemoteTarget | undefined {
  if (env.E2E_HTTP_URL && env.E2E_WS_URL)
    return { httpUrl: trim(env.E2E_HTTP_URL), wsUrl: trim(env.E2E_WS_URL) };
  if (!env.E2E_OUTPUTS_FILE) return undefined;
  const outputs = JSON.parse(readFileSync(env.E2E_OUTPUTS_FILE, 'utf8')) as Record<
    string,
    Record<string, string>
  >;
  const stack = Object.values(outputs).find((o) => o.HttpApiUrl && o.WebSocketUrl);
  if (!stack)
    throw new Error(`${env.E2E_OUTPUTS_FILE} has no stack with HttpApiUrl and WebSocketUrl outputs`);
  return { httpUrl: trim(stack.HttpApiUrl as string), wsUrl: trim(stack.WebSocketUrl as string) };
}

const trim = (url: string) => url.replace(/\/+$/, '');
