// Plain HTTPS download, checked against a pinned SHA-256 or, for Apache releases on Maven Central,
// against the .sha512 published next to the file.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import type { Log } from './log.js';
import { startProgress } from './progress.js';

export interface DownloadOptions {
  /** Expected SHA-256 (hex); without it, `<url>.sha512` is fetched and compared. */
  sha256?: string;
  /** Where download progress goes; silent without it. */
  log?: Log;
}

/** Downloads `url` to `dest`; throws on an HTTP error or a checksum mismatch (then `dest` is garbage). */
export async function downloadVerified(
  url: string,
  dest: string,
  options: DownloadOptions = {},
): Promise<void> {
  const [algorithm, expected] = options.sha256
    ? ['sha256', options.sha256]
    : ['sha512', (await fetchOk(`${url}.sha512`).then((r) => r.text())).trim().split(/\s+/)[0]];
  const response = await fetchOk(url);
  if (!response.body) throw new Error(`Empty response for ${url}`);
  const total = Number(response.headers.get('content-length')) || undefined;
  const name = url.split('/').pop() ?? url;
  const progress = options.log ? startProgress(options.log, `download ${name}`) : undefined;
  const hash = createHash(algorithm);
  let received = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      received += chunk.length;
      progress?.update(`${mb(received)}${total ? ` of ${mb(total)}` : ''}`);
      callback(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body as ReadableStream), meter, createWriteStream(dest));
  progress?.done(`${mb(received)} received`);
  if (hash.digest('hex') !== expected?.toLowerCase()) throw new Error(`Checksum mismatch for ${url}`);
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10 * 60_000) }).catch((err: Error) => {
    // Node's fetch says only "fetch failed"; the reason (DNS, TLS, proxy...) is in `cause`.
    throw new Error(`GET ${url} failed: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  });
  if (!response.ok) throw new Error(`GET ${url} failed: HTTP ${response.status}`);
  return response;
}
