import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import { createSearchClient, isSearchUnavailable, type SearchClient } from '#shared/adapters/opensearch.js';
import { readSearchConfig } from '#shared/config/search.js';
import { UnavailableError } from '#shared/errors.js';
import { messagesSearchQuery, usersSearchQuery } from '#shared/protocol/requests.js';
import { parseOnFailureRecord } from '#shared/search/dead-letters.js';
import { searchUsers } from '#shared/search/queries.js';

const failing = (err: unknown) =>
  ({
    search: async () => {
      throw err;
    },
  }) as unknown as SearchClient;
const responseError = (status: number, type: string) =>
  new errors.ResponseError({
    body: { error: { type }, status },
    statusCode: status,
    headers: {},
    meta: {} as any,
    warnings: null,
  });

describe('search queries', () => {
  it('answers 503 unavailable when the domain is down or overloaded', async () => {
    for (const err of [
      new errors.ConnectionError('down'),
      new errors.TimeoutError('slow', {} as any),
      new errors.NoLivingConnectionsError('none', {} as any),
      responseError(503, 'cluster_block_exception'),
      responseError(429, 'es_rejected_execution_exception'),
    ]) {
      expect(isSearchUnavailable(err)).toBe(true);
      await expect(searchUsers('alice', 10, { client: failing(err) })).rejects.toBeInstanceOf(
        UnavailableError,
      );
    }
  });

  it('treats a missing index as no results and passes other errors on', async () => {
    expect(
      await searchUsers('alice', 10, { client: failing(responseError(404, 'index_not_found_exception')) }),
    ).toEqual([]);
    const bug = responseError(400, 'parsing_exception');
    expect(isSearchUnavailable(bug)).toBe(false);
    await expect(searchUsers('alice', 10, { client: failing(bug) })).rejects.toBe(bug);
  });

  it('validates q and limit', () => {
    expect(usersSearchQuery.parse({ q: ' al ' })).toEqual({ q: 'al', limit: 20 });
    expect(messagesSearchQuery.parse({ q: '你好', limit: '50', conversationId: 'g_1' })).toEqual({
      q: '你好',
      limit: 50,
      conversationId: 'g_1',
    });
    for (const bad of [
      {},
      { q: '' },
      { q: ' ' },
      { q: 'x'.repeat(201) },
      { q: 'a', limit: '0' },
      { q: 'a', limit: '51' },
      { q: 'a', limit: '1.5' },
    ]) {
      expect(usersSearchQuery.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(messagesSearchQuery.safeParse({ q: 'a', conversationId: 'a b' }).success).toBe(false);
  });

  it('reads its configuration once, failing fast with the variable name', () => {
    expect(() => readSearchConfig({})).toThrow(/SEARCH_ENDPOINT/);
    expect(() => readSearchConfig({ SEARCH_ENDPOINT: 'http://127.0.0.1:9200' })).toThrow(/SEARCH_SIGNING/);
    expect(() => readSearchConfig({ SEARCH_ENDPOINT: 'nope', SEARCH_SIGNING: 'none' })).toThrow(
      /SEARCH_ENDPOINT/,
    );
    expect(() => readSearchConfig({ SEARCH_ENDPOINT: 'https://x', SEARCH_SIGNING: 'aws' })).toThrow(
      /AWS_REGION/,
    );
    expect(() => readSearchConfig({ SEARCH_ENDPOINT: 'https://x', SEARCH_SIGNING: 'sigv4' })).toThrow(
      /SEARCH_SIGNING/,
    );
    expect(
      readSearchConfig({ SEARCH_ENDPOINT: 'https://x/', SEARCH_SIGNING: 'aws', AWS_REGION: 'eu-west-1' }),
    ).toEqual({
      endpoint: 'https://x',
      signing: 'aws',
      region: 'eu-west-1',
    });
  });

  it('parses Lambda on-failure records of stream batches', () => {
    const body = JSON.stringify({
      requestContext: { condition: 'RecordAgeExceeded' },
      DDBStreamBatchInfo: {
        shardId: 'shardId-1',
        startSequenceNumber: '10',
        endSequenceNumber: '20',
        streamArn: 'arn:aws:dynamodb:us-east-1:1:table/T/stream/x',
        batchSize: 3,
      },
    });
    expect(parseOnFailureRecord(body)).toEqual({
      condition: 'RecordAgeExceeded',
      batch: {
        shardId: 'shardId-1',
        startSequenceNumber: '10',
        endSequenceNumber: '20',
        streamArn: 'arn:aws:dynamodb:us-east-1:1:table/T/stream/x',
        batchSize: 3,
      },
    });
    expect(parseOnFailureRecord('{}')).toBeUndefined();
    expect(parseOnFailureRecord('not json')).toBeUndefined();
  });

  it('signs requests with SigV4 for service es when SEARCH_SIGNING=aws', async () => {
    const seen: Array<Record<string, string | string[] | undefined>> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"hits":{"hits":[]}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const client = createSearchClient({
      endpoint: `http://127.0.0.1:${port}`,
      signing: 'aws',
      region: 'eu-west-1',
    });
    try {
      await client.search({ index: 'users', body: { query: { match_all: {} } } });
      const auth = String(seen[0]?.authorization);
      expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=\S+\/eu-west-1\/es\/aws4_request/);
      expect(seen[0]?.['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
      const plain = createSearchClient({
        endpoint: `http://127.0.0.1:${port}`,
        signing: 'none',
        region: undefined,
      });
      await plain.search({ index: 'users', body: {} });
      expect(seen[1]?.authorization).toBeUndefined();
      await plain.close();
    } finally {
      await client.close();
      server.close();
    }
  });
});
