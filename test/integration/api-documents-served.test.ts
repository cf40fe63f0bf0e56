import { describe, expect, it } from 'vitest';
import { asyncApiDocument } from '#shared/protocol/asyncapi.js';
import { openApiDocument } from '#shared/protocol/openapi.js';
import { httpUrl, wsUrl } from '../support/clients.js';

describe('the local runtime serves the API documents', () => {
  it('GET /openapi.json without a token: the OpenAPI document pointing at this runtime', async () => {
    const res = await fetch(`${httpUrl()}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.servers).toEqual([{ url: httpUrl(), description: 'This local runtime' }]);
    const generated = JSON.parse(JSON.stringify(openApiDocument()));
    expect({ ...doc, servers: generated.servers }).toEqual(generated);
  });

  it('GET /asyncapi.json without a token: the AsyncAPI document pointing at this runtime', async () => {
    const res = await fetch(`${httpUrl()}/asyncapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { servers: { local: { host: string } }; channels: unknown };
    expect(doc.servers.local.host).toBe(new URL(wsUrl()).host);
    expect(doc.channels).toEqual(JSON.parse(JSON.stringify(asyncApiDocument())).channels);
  });
});
