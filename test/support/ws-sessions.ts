import { afterEach } from 'vitest';
import { WsClient } from './clients.js';

/**
 * Opens WebSocket clients for a test file and closes them after each test. Call once at the top level
 * of the file; use the returned `connect`.
 */
export function wsSessions(): (token: string) => Promise<WsClient> {
  const open: WsClient[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  return async (token: string) => {
    const client = await WsClient.connect(token);
    open.push(client);
    return client;
  };
}
