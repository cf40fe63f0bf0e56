// Plain HTTPS download, checked against the .sha512 that Maven Central publishes next to Apache releases.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';

export async function downloadVerified(url: string, dest: string): Promise<void> {
  const expected = (await fetchOk(`${url}.sha512`).then((r) => r.text())).trim().split(/\s+/)[0];
  const response = await fetchOk(url);
  if (!response.body) throw new Error(`Empty response for ${url}`);
  await pipeline(Readable.fromWeb(response.body as ReadableStream), createWriteStream(dest));
  const actual = createHash('sha512')
    .update(await readFile(dest))
    .digest('hex');
  if (actual !== expected?.toLowerCase()) throw new Error(`Checksum mismatch for ${url}`);
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10 * 60_000) }).catch((err: Error) => {
    // Node's fetch says only "fetch failed"; the reason (DNS, TLS, proxy...) is in `cause`.
    throw new Error(`GET ${url} failed: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  });
  if (!response.ok) throw new Error(`GET ${url} failed: HTTP ${response.status}`);
  return response;
}
