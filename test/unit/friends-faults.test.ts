import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { handler as accept } from '../../functions/http/friend-requests-accept.js';
import { handler as create } from '../../functions/http/friend-requests-create.js';
import { call, httpEvent } from '../support/lambda.js';

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

const request = {
  pk: 'REQ#fr_1',
  sk: 'REQ',
  requestId: 'fr_1',
  fromUserId: 'u_a',
  toUserId: 'u_b',
  message: '',
  status: 'pending',
  createdAt: '2026-01-01T00:00:00.000Z',
};
const acceptEvent = () =>
  httpEvent('POST /friend-requests/{requestId}/accept', '/friend-requests/fr_1/accept', {
    userId: 'u_b',
    pathParameters: { requestId: 'fr_1' },
  });
const N = 'None';

describe('accept maps transaction cancellation reasons', () => {
  it('answers 409 already_friends when a friendship row exists', async () => {
    ddb.on(GetCommand).resolves({ Item: request });
    ddb.on(TransactWriteCommand).rejects(cancelled(N, 'ConditionalCheckFailed', N, N, N, N, N, N, N, N, N));
    const res = await call(accept, acceptEvent());
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('already_friends');
  });

  it('answers 404 when the request was cancelled meanwhile', async () => {
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: request })
      .resolves({ Item: { ...request, status: 'cancelled' } });
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', N, N, N, N, N, N, N, N, N, N));
    const res = await call(accept, acceptEvent());
    expect(res.status).toBe(404);
  });

  it('succeeds idempotently when a concurrent accept won', async () => {
    ddb
      .on(GetCommand, { Key: { pk: 'REQ#fr_1', sk: 'REQ' } })
      .resolvesOnce({ Item: request })
      .resolves({ Item: { ...request, status: 'accepted' } });
    ddb.on(GetCommand, { Key: { userId: 'u_a' } }).resolves({
      Item: { userId: 'u_a', status: 'active', username: 'a', displayName: 'A', bio: '' },
    });
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', N, N, N, N, N, N, N, N, N, N));
    const res = await call(accept, acceptEvent());
    expect(res.status).toBe(200);
    expect(res.body.conversationId).toMatch(/^d_/);
  });

  it('retries transaction conflicts with backoff and then succeeds', async () => {
    ddb.on(GetCommand).resolves({
      Item: { ...request, userId: 'u_a', status: 'active', username: 'a', displayName: 'A', bio: '' },
    });
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled(N, 'TransactionConflict')).resolves({});
    ddb.on(GetCommand, { Key: { pk: 'REQ#fr_1', sk: 'REQ' } }).resolves({ Item: request });
    const res = await call(accept, acceptEvent());
    expect(res.status).toBe(200);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('ends in 503 unavailable when throttling persists, having written nothing', async () => {
    ddb.on(GetCommand).resolves({ Item: request });
    ddb.on(TransactWriteCommand).rejects(cancelled('ThrottlingError', N, N, N, N, N, N, N, N, N, N));
    const res = await call(accept, acceptEvent());
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('unavailable');
    expect(ddb.commandCalls(TransactWriteCommand).length).toBeGreaterThan(1);
  });

  it('maps a request to someone who already asked into an accept of theirs', async () => {
    // The sender's pending outgoing requests (the spam limit counts them first).
    ddb.on(QueryCommand).resolves({ Count: 0 });
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled(N, N, N, 'ConditionalCheckFailed', N, N))
      .resolves({});
    ddb.on(GetCommand, { Key: { pk: 'USER#u_b', sk: 'IN#u_a' } }).resolves({ Item: { requestId: 'fr_1' } });
    ddb.on(GetCommand, { Key: { pk: 'REQ#fr_1', sk: 'REQ' } }).resolves({ Item: request });
    ddb.on(GetCommand, { Key: { userId: 'u_a' } }).resolves({
      Item: { userId: 'u_a', status: 'active', username: 'a', displayName: 'A', bio: '' },
    });
    ddb.on(GetCommand, { Key: { userId: 'u_b' } }).resolves({
      Item: { userId: 'u_b', status: 'active', username: 'b', displayName: 'B', bio: '' },
    });
    const res = await call(
      create,
      httpEvent('POST /friend-requests', '/friend-requests', { userId: 'u_b', body: { toUserId: 'u_a' } }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'accepted', friend: { userId: 'u_a' } });
  });
});
