import { DEFAULT_ORDER_WINDOW, type OrderWindowLimits } from '../domain/send-order.js';
import { positive } from './rate-limits.js';

/**
 * The sequencer's reorder window limits (`SEND_ORDER_WINDOW_MIN_MS`, `SEND_ORDER_WINDOW_MAX_MS`, ms);
 * unset variables take the defaults, invalid ones fail fast.
 */
export function readOrderWindowLimits(env: NodeJS.ProcessEnv = process.env): OrderWindowLimits {
  return {
    minMs: positive(env, 'SEND_ORDER_WINDOW_MIN_MS', DEFAULT_ORDER_WINDOW.minMs),
    maxMs: positive(env, 'SEND_ORDER_WINDOW_MAX_MS', DEFAULT_ORDER_WINDOW.maxMs),
  };
}

let cached: OrderWindowLimits | undefined;
/** The process-wide reorder window limits, read once on first use. */
export function orderWindowLimits(): OrderWindowLimits {
  cached ??= readOrderWindowLimits();
  return cached;
}
