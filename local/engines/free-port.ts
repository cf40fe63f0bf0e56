import { createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago. Another process could grab it before the engine binds;
 * the engine then fails fast with "address in use" and the caller sees it in the error output.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('Could not determine a free port'));
      });
    });
  });
}
