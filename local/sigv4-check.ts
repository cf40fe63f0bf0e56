import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/** The key pair the local runtime hands its functions; requests to `@connections` must be signed with it. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** SHA-256 in the shape the signer expects (a hash, or an HMAC when given a secret), on node:crypto. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key =
      typeof secret === 'string' || secret === undefined ? secret : Buffer.from(secret as ArrayBuffer);
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** How far a request's signing time may be from now; AWS allows 15 minutes. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/;

/**
 * Checks an AWS Signature Version 4 on a request to the local `@connections` API, as IAM checks it on
 * AWS: the same access key, a signature recomputed over the signed headers and the body, and a signing
 * time within 15 minutes. Returns why it failed, or `undefined` when the signature holds.
 */
/** One signer per key, region and service: it caches the derived signing key per day. */
const signers = new Map<string, SignatureV4>();
function signerFor(credentials: LocalCredentials, region: string, service: string): SignatureV4 {
  const key = `${credentials.accessKeyId}/${region}/${service}`;
  let signer = signers.get(key);
  if (!signer) {
    signer = new SignatureV4({
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      region,
      service,
      sha256: Sha256,
    });
    if (signers.size >= 64) signers.clear();
    signers.set(key, signer);
  }
  return signer;
}

export async function checkSigV4(
  req: IncomingMessage,
  body: Buffer,
  credentials: LocalCredentials,
): Promise<string | undefined> {
  const match = AUTH.exec(String(req.headers.authorization ?? ''));
  if (!match) return 'Missing Authentication Token';
  const [, accessKeyId, , region, service, signedHeaders, signature] = match as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId) return 'The security token included in the request is invalid';
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const when = Date.parse(
    amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  if (!Number.isFinite(when) || Math.abs(Date.now() - when) > MAX_SKEW_MS) return 'Signature expired';
  const headers: Record<string, string> = {};
  for (const name of (signedHeaders as string).split(';')) {
    const value = req.headers[name];
    if (value === undefined) return 'The request signature we calculated does not match';
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const signed = await signerFor(credentials, region as string, service as string).sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: String(req.headers.host ?? '').replace(/:\d+$/, ''),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: body.length ? body : undefined,
    },
    { signingDate: new Date(when) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  const ok =
    expected.length === (signature as string).length &&
    timingSafeEqual(Buffer.from(expected), Buffer.from(signature as string));
  return ok ? undefined : 'The request signature we calculated does not match';
}
