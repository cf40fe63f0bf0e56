import { AsyncLocalStorage } from 'node:async_hooks';
import { config } from '../config/env.js';
import { takeToken } from '../data/rate-limits-repo.js';
import { ThrottledError } from '../errors.js';
import { emitMetrics } from '../metrics.js';

const limits = () => config().rateLimits;

/** The arrival time of the request being handled (epoch ms), when its wrapper gave one. */
const arrival = new AsyncLocalStorage<number>();

/**
 * Runs a request's work with its arrival time as the limits' clock: API Gateway's stamp
 * (`requestContext.timeEpoch` over HTTP, `requestTimeEpoch` on a WebSocket frame), never later than
 * now. A request counts when it arrived, not when a cold start, Lambda's retries or the local front's
 * queue let it run, so a burst that arrived at once is limited as a burst however it is worked off.
 */
export function withArrivalTime<T>(epochMs: number | undefined, work: () => Promise<T>): Promise<T> {
  if (epochMs === undefined || !Number.isFinite(epochMs)) return work();
  return arrival.run(Math.min(epochMs, Date.now()), work);
}

/** The limits' clock: the request's arrival time, else now (epoch ms). */
const clock = () => ({ now: () => arrival.getStore() ?? Date.now() });

/** Per-user send limit (HTTP and WebSocket alike); throws ThrottledError (429) with `retryAfterMs`. */
export async function limitSends(userId: string): Promise<void> {
  const result = await takeToken(`send#${userId}`, limits().send, clock());
  if (!result.allowed) {
    emitMetrics({ RateLimited: 1 }, { limit: 'send' });
    throw new ThrottledError(result.retryAfterMs, 'Sending too fast, retry later');
  }
}

/** Per-connection limit on the other frames (`typing`, `markRead`, `sync`); throws ThrottledError. */
export async function limitFrames(connectionId: string): Promise<void> {
  const result = await takeToken(`frames#${connectionId}`, limits().frames, clock());
  if (!result.allowed) {
    emitMetrics({ RateLimited: 1 }, { limit: 'frames' });
    throw new ThrottledError(result.retryAfterMs, 'Too many frames, retry later');
  }
}
