import { afterEach, expect, it } from 'vitest';
import { type ConnectionsApi, useConnectionsApi } from '#shared/adapters/connections-api.js';
import { pushToConnections } from '#shared/domain/push.js';

let restore: (() => void) | undefined;
afterEach(() => restore?.());

it('pushes through whatever @connections API it is given, one failure never stopping the others', async () => {
  const posted: Array<[string, unknown]> = [];
  const fake: ConnectionsApi = {
    async post(connectionId, data) {
      if (connectionId === 'broken') throw new Error('refused');
      posted.push([connectionId, JSON.parse(new TextDecoder().decode(data))]);
      return 'delivered';
    },
    isGone: async () => false,
    close: async () => undefined,
  };
  restore = useConnectionsApi(fake);

  const result = await pushToConnections(['a', 'broken', 'b'], { type: 'ack' });

  expect(result).toEqual({ delivered: 2, gone: 0, failed: 1 });
  expect(posted.sort()).toEqual([
    ['a', { type: 'ack' }],
    ['b', { type: 'ack' }],
  ]);
});
