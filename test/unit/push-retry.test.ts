import {
  ApiGatewayManagementApiClient,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { pushToConnections } from '#shared/domain/push.js';

const connections = mockClient(ApiGatewayManagementApiClient);
afterEach(() => connections.reset());

/** A socket error as Node reports it, with its system code. */
const socketError = (code: string) => Object.assign(new Error(`read ${code}`), { code });

describe('pushing to connections', () => {
  it('sends a post again once when a reused socket was reset before any answer', async () => {
    connections.on(PostToConnectionCommand).rejectsOnce(socketError('ECONNRESET')).resolves({});

    const result = await pushToConnections(['c1'], { type: 'ack' });

    expect(result).toEqual({ delivered: 1, gone: 0, failed: 0 });
    expect(connections.commandCalls(PostToConnectionCommand)).toHaveLength(2);
  });

  it('gives up after the second reset, and never repeats a refused or timed-out post', async () => {
    connections
      .on(PostToConnectionCommand, { ConnectionId: 'reset' })
      .rejects(socketError('EPIPE'))
      .on(PostToConnectionCommand, { ConnectionId: 'full' })
      .rejects(new LimitExceededException({ message: 'Client buffer is full', $metadata: {} }))
      .on(PostToConnectionCommand, { ConnectionId: 'slow' })
      .rejects(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));

    const result = await pushToConnections(['reset', 'full', 'slow'], { type: 'message' });

    expect(result).toEqual({ delivered: 0, gone: 0, failed: 3 });
    const calls = connections.commandCalls(PostToConnectionCommand).map((c) => c.args[0].input.ConnectionId);
    expect(calls.filter((id) => id === 'reset')).toHaveLength(2);
    expect(calls.filter((id) => id === 'full')).toHaveLength(1);
    expect(calls.filter((id) => id === 'slow')).toHaveLength(1);
  });
});
