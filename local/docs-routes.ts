import type { ServerResponse } from 'node:http';
import { asyncApiDocument } from '#shared/protocol/asyncapi.js';
import { openApiDocument } from '#shared/protocol/openapi.js';

/**
 * `GET /openapi.json` and `GET /asyncapi.json` on the local HTTP port, without a token: the published
 * documents with their servers pointing at this runtime. Generated once, on the first request.
 */
export function apiDocumentRoutes(urls: () => { httpUrl: string; wsUrl: string }) {
  let documents: Record<string, string> | undefined;
  const build = () => {
    const { httpUrl, wsUrl } = urls();
    const ws = new URL(wsUrl);
    const asyncApi = asyncApiDocument() as { servers: Record<string, Record<string, unknown>> };
    asyncApi.servers = {
      local: { ...asyncApi.servers.local, host: ws.host, protocol: ws.protocol.replace(':', '') },
    };
    return {
      '/openapi.json': JSON.stringify({
        ...openApiDocument(),
        servers: [{ url: httpUrl, description: 'This local runtime' }],
      }),
      '/asyncapi.json': JSON.stringify(asyncApi),
    };
  };
  /** Serves a document when the request is for one; false otherwise. */
  return (method: string, pathname: string, res: ServerResponse): boolean => {
    if (method !== 'GET' || (pathname !== '/openapi.json' && pathname !== '/asyncapi.json')) return false;
    documents ??= build();
    res.writeHead(200, { 'content-type': 'application/json' }).end(documents[pathname]);
    return true;
  };
}
