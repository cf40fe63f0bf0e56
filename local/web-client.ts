import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { closeServer } from './http-front.js';

const WEB_DIR = fileURLToPath(new URL('../clients/web/', import.meta.url));

export interface WebClientServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Bundles the web client (clients/web) and the SDK for browsers: ES modules, no Node.js built-ins. */
export async function buildWebClient(): Promise<{ html: string; script: string }> {
  const result = await build({
    entryPoints: [`${WEB_DIR}app.ts`],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const script = result.outputFiles[0]?.text;
  if (!script) throw new Error('web client: esbuild produced no output');
  return { html: await readFile(`${WEB_DIR}index.html`, 'utf8'), script };
}

/**
 * Serves the web client on its own origin (loopback, `port`), with `config.json` naming the API URLs.
 * The HTTP API allows this origin (CORS), as a deployment would allow its web origin.
 */
export async function startWebClient(
  port: number,
  api: () => { httpUrl: string; wsUrl: string },
): Promise<WebClientServer> {
  const { html, script } = await buildWebClient();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    if (req.method !== 'GET') return void res.writeHead(405, headers).end();
    if (path === '/' || path === '/index.html') {
      return void res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(html);
    }
    if (path === '/app.js') {
      return void res
        .writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' })
        .end(script);
    }
    if (path === '/config.json') {
      return void res
        .writeHead(200, { ...headers, 'content-type': 'application/json' })
        .end(JSON.stringify(api()));
    }
    res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('Not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${address.port}`, close: () => closeServer(server) };
}
