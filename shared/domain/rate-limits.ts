import { type RateLimits, readRateLimits } from '../config/rate-limits.js';
import { readHolds, releaseHolds, takeToken } from '../data/rate-limits-repo.js';
import { ThrottledError } from '../errors.js';
import { logger } from '../logger.js';

let cached: RateLimits | undefined;
const limits = () => {
  cached ??= readRateLimits();
  return cached;
};

const sendBucket = (userId: string) => `send#${userId}`;

/** Per-user send limit (HTTP and WebSocket alike); throws ThrottledError (429) with `retryAfterMs`. */
export async function limitSends(userId: string): Promise<void> {
  const result = await takeToken(sendBucket(userId), limits().send);
  if (!result.allowed) throw new ThrottledError(result.retryAfterMs, 'Sending too fast, retry later');
}

/**
 * How long a frame waits for the user's earlier frames to reach the queue before going anyway (ms):
 * an earlier frame needs one enqueue and one write, a few milliseconds; the bound keeps a flood (or
 * an overloaded engine) from stacking up waiting invocations.
 */
export const EARLIER_FRAME_WAIT_MS = 100;
/**
 * More earlier frames than this still on their way means the user sends faster than the queue takes
 * them: the frame goes on at once (order within such a flood is best effort) rather than add one more
 * poller on the same item.
 */
export const MAX_EARLIER_FRAMES_WAITED_FOR = 4;
/** A hold older than this belongs to a send that died on its way to the queue; it is ignored and cleared. */
const STALE_HOLD_MS = 10_000;

/**
 * The per-user send limit for a WebSocket frame, which also keeps the user's frames in the order they
 * arrived on their way to the queue: the token write records the frame's arrival time as a hold on the
 * user's bucket, and a frame waits (polling, at most EARLIER_FRAME_WAIT_MS) until no earlier frame of
 * the user is still between its token and its enqueue. Works across Lambda containers: the bucket
 * item is the only shared state. Returns the release to call once the frame is queued (or failed).
 */
export async function admitFrame(
  userId: string,
  frameTime: number,
  options: { maxWaitMs?: number } = {},
): Promise<() => Promise<void>> {
  const bucket = sendBucket(userId);
  const result = await takeToken(bucket, limits().send, { hold: frameTime });
  if (!result.allowed) throw new ThrottledError(result.retryAfterMs, 'Sending too fast, retry later');
  const stale = new Set<number>();
  const earlier = (holds: readonly number[]) =>
    holds.filter((h) => {
      if (h < frameTime - STALE_HOLD_MS) stale.add(h);
      return h < frameTime && h >= frameTime - STALE_HOLD_MS;
    });
  let waiting = earlier(result.holds ?? []);
  if (waiting.length > MAX_EARLIER_FRAMES_WAITED_FOR) waiting = [];
  const deadline = Date.now() + (options.maxWaitMs ?? EARLIER_FRAME_WAIT_MS);
  for (let delay = 2; waiting.length > 0 && Date.now() < deadline; delay = Math.min(delay * 2, 8)) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    waiting = earlier(await readHolds(bucket));
  }
  if (waiting.length > 0)
    logger.warn('frame queued before earlier frames of its user', { userId, frameTime });
  return () =>
    releaseHolds(bucket, [frameTime, ...stale]).catch((error) =>
      logger.warn('send hold not released', { userId, error: error as Error }),
    );
}

/** Per-connection limit on the other frames (`typing`, `markRead`, `sync`); throws ThrottledError. */
export async function limitFrames(connectionId: string): Promise<void> {
  const result = await takeToken(`frames#${connectionId}`, limits().frames);
  if (!result.allowed) throw new ThrottledError(result.retryAfterMs, 'Too many frames, retry later');
}
