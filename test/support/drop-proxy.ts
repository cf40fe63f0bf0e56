import { createServer, type Socket } from 'node:net';

/** A TCP proxy in front of the WebSocket API that can cut every connection at once, as a network would. */
export interface DropProxy {
  /** The proxy's `ws://` URL. */
  readonly url: string;
  /** Destroys every proxied connection (both sides, no close handshake); returns how many it cut. */
  dropAll(): number;
  /** Connections opened through the proxy so far. */
  readonly opened: number;
  close(): Promise<void>;
}

export async function startDropProxy(target: string): Promise<DropProxy> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  let opened = 0;
  const server = createServer((client) => {
    opened += 1;
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(Number(port), hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${address.port}`,
    dropAll() {
      const n = pairs.size;
      for (const [client, upstream] of [...pairs]) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
      return n;
    },
    get opened() {
      return opened;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
