import {
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { connectionsClient } from '../clients/connections.js';

/**
 * The WebSocket API's `@connections` management API as the domain sees it: post a frame, ask whether a
 * connection still exists, close it. `gone` is API Gateway's 410 (the connection no longer exists).
 */
export interface ConnectionsApi {
  /** Posts one encoded frame; `gone` when the connection no longer exists. Throws on any other failure. */
  post(connectionId: string, data: Uint8Array): Promise<'delivered' | 'gone'>;
  /**
   * True only when API Gateway says the connection is gone; any other answer or failure counts as
   * still there (a connection is never forgotten on a guess).
   */
  isGone(connectionId: string): Promise<boolean>;
  /** Closes a connection from the server side; a connection already gone is fine. */
  close(connectionId: string): Promise<void>;
}

/**
 * The `@connections` API of the deployed (or local) WebSocket API. A post is not retried by the client
 * (see clients/connections.ts), but a kept-alive socket that the server closed just as it was reused
 * fails with ECONNRESET or EPIPE before any answer: that post is sent once more, on a fresh socket.
 * Clients de-duplicate, should the first have arrived after all.
 */
export const apiGatewayConnections: ConnectionsApi = {
  async post(connectionId, data) {
    const send = () =>
      connectionsClient().send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
    try {
      try {
        await send();
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code !== 'ECONNRESET' && code !== 'EPIPE') throw err;
        await send();
      }
      return 'delivered';
    } catch (err) {
      if (err instanceof GoneException) return 'gone';
      throw err;
    }
  },
  async isGone(connectionId) {
    try {
      await connectionsClient().send(new GetConnectionCommand({ ConnectionId: connectionId }));
      return false;
    } catch (err) {
      return err instanceof GoneException;
    }
  },
  async close(connectionId) {
    try {
      await connectionsClient().send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (err) {
      if (!(err instanceof GoneException)) throw err;
    }
  },
};

let current: ConnectionsApi = apiGatewayConnections;

/** The `@connections` API the domain uses (API Gateway unless a test replaced it). */
export const connectionsApi = (): ConnectionsApi => current;

/** Replaces the `@connections` API (tests); returns a function that puts the previous one back. */
export function useConnectionsApi(api: ConnectionsApi): () => void {
  const previous = current;
  current = api;
  return () => {
    current = previous;
  };
}
