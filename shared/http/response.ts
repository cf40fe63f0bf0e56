import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { AppError } from '../errors.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number };

const jsonHeaders = { 'content-type': 'application/json; charset=utf-8' };

/** A JSON response; 204 carries no body. */
export function json(statusCode: number, body?: unknown): HttpResponse {
  if (statusCode === 204 || body === undefined) return { statusCode, headers: {}, body: '' };
  return { statusCode, headers: jsonHeaders, body: JSON.stringify(body) };
}

/** The contract's error shape; only errors below 500 expose their own message. */
export function errorResponse(err: AppError, requestId: string): HttpResponse {
  const message = err.status < 500 || err.code === 'unavailable' ? err.message : 'Internal error';
  const response = json(err.status, { error: { code: err.code, message, requestId, ...err.details } });
  const retryAfterMs = err.details?.retryAfterMs;
  // RFC 9110 §10.2.3: Retry-After in whole seconds; the body keeps the exact milliseconds.
  if (typeof retryAfterMs === 'number') {
    response.headers = {
      ...response.headers,
      'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
    };
  }
  return response;
}
