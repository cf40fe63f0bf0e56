import { describe, expect, it } from 'vitest';
import { AppError, ConflictError, toAppError } from '#shared/errors.js';
import { errorResponse } from '#shared/http/response.js';

describe('error model', () => {
  it('maps throttling from the SDK to 503 unavailable', () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    expect(toAppError(throttled).code).toBe('unavailable');
  });

  it('maps an unknown error to 500 and hides its message', () => {
    const res = errorResponse(toAppError(new Error('secret detail')), 'req-1');
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(String(res.body))).toEqual({
      error: { code: 'internal', message: 'Internal error', requestId: 'req-1' },
    });
  });

  it('exposes a client error with its details', () => {
    const res = errorResponse(new ConflictError('version_conflict', 'stale', { currentVersion: 3 }), 'r');
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(String(res.body)).error).toMatchObject({ code: 'version_conflict', currentVersion: 3 });
  });

  it('keeps AppErrors as they are', () => {
    const err = new AppError('x', 418, 'teapot');
    expect(toAppError(err)).toBe(err);
  });
});
