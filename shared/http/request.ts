import type { APIGatewayProxyEventV2WithLambdaAuthorizer } from 'aws-lambda';
import { InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.js';
import { requireWellFormedText } from '../unicode.js';

/** Context the HTTP authorizer passes on: a user id when the token verified, else the reason it did not. */
export interface AuthorizerContext {
  userId?: string;
  /** Status of the caller's account when the token verified. */
  accountStatus?: string;
  /** The verified token's id (`jti`), version and expiry (epoch seconds): what logout revokes. */
  tokenId?: string;
  tokenVersion?: number;
  tokenExpiresAt?: number;
  denyReason?: string;
  /** The authorizer could not check the account; the request gets 503. */
  unavailable?: boolean;
}

export type HttpEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>;

/** Largest request body accepted before parsing (API Gateway itself allows 10 MB). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Parses a JSON body; an empty body is `undefined`, anything unparsable is a 400. */
export function parseJsonBody(event: HttpEvent): unknown {
  if (event.body === undefined || event.body === '') return undefined;
  // A body without Content-Type is read as JSON; one that names another media type is refused.
  const contentType = event.headers?.['content-type'];
  if (contentType !== undefined && !isJson(contentType)) throw new UnsupportedMediaTypeError(contentType);
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : undefined;
  if ((bytes?.length ?? Buffer.byteLength(event.body, 'utf8')) > MAX_BODY_BYTES)
    throw new PayloadTooLargeError('Request body too large');
  // JSON text is UTF-8 (RFC 8259 section 8.1): bytes that are not are refused, never stored as U+FFFD.
  const raw = bytes ? decodeUtf8(bytes) : event.body;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InvalidRequestError('body: not valid JSON', { field: 'body' });
  }
  requireWellFormedText(value, 'body');
  return value;
}

/** `application/json` or any `+json` type, with or without parameters such as `charset`. */
function isJson(contentType: string): boolean {
  return /^\s*application\/([\w.-]+\+)?json\s*(;|$)/i.test(contentType);
}

/**
 * Refuses a query string that is not UTF-8 text once percent-decoded (`?q=%ED%A0%BD` encodes a lone
 * surrogate, `%FF` no character at all). Decoders differ here (the local front and API Gateway would
 * substitute U+FFFD), so the raw string is checked, the same way for every route.
 */
export function requireWellFormedQuery(event: HttpEvent): void {
  for (const part of (event.rawQueryString ?? '').split('&')) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      const name = part.split('=')[0] ?? 'query';
      throw new InvalidRequestError(`${name}: not valid Unicode text`, { field: name || 'query' });
    }
  }
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {}))
    requireWellFormedText(value, name);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as UTF-8 text; a 400 when they are not valid UTF-8. */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InvalidRequestError('body: not valid UTF-8', { field: 'body' });
  }
}
