import type { ErrorCode } from './types.js';

/**
 * An error the API reported (HTTP error body or WebSocket `error` frame), or `network` when no answer
 * came. `retryAfterMs` is set for `throttled`; `status` is the HTTP status (0 over the WebSocket).
 */
export class ChatApiError extends Error {
  constructor(
    readonly code: ErrorCode | 'network',
    message: string,
    readonly status: number,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ChatApiError';
  }

  /** Milliseconds to wait before a retry can pass (`throttled`), else undefined. */
  get retryAfterMs(): number | undefined {
    const value = this.details.retryAfterMs;
    return typeof value === 'number' ? value : undefined;
  }

  /** The server's request id, to quote in a bug report. */
  get requestId(): string | undefined {
    const value = this.details.requestId;
    return typeof value === 'string' ? value : undefined;
  }

  /** True when the same request may succeed later unchanged (the protocol's retry advice). */
  get retryable(): boolean {
    return (
      this.code === 'throttled' ||
      this.code === 'unavailable' ||
      this.code === 'internal' ||
      this.code === 'network'
    );
  }
}
