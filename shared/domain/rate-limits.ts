import { config } from '../config/env.js';
import { takeToken } from '../data/rate-limits-repo.js';
import { ThrottledError } from '../errors.js';
import { emitMetrics } from '../metrics.js';

const limits = () => config().rateLimits;

/** Per-user send limit (HTTP and WebSocket alike); throws ThrottledError (429) with `retryAfterMs`. */
export async function limitSends(userId: string): Promise<void> {
  const result = await takeToken(`send#${userId}`, limits().send);
  if (!result.allowed) {
    emitMetrics({ RateLimited: 1 }, { limit: 'send' });
    throw new ThrottledError(result.retryAfterMs, 'Sending too fast, retry later');
  }
}

/** Per-connection limit on the other frames (`typing`, `markRead`, `sync`); throws ThrottledError. */
export async function limitFrames(connectionId: string): Promise<void> {
  const result = await takeToken(`frames#${connectionId}`, limits().frames);
  if (!result.allowed) {
    emitMetrics({ RateLimited: 1 }, { limit: 'frames' });
    throw new ThrottledError(result.retryAfterMs, 'Too many frames, retry later');
  }
}
