import { positive } from './rate-limits.js';

/** The window's bounds (ms). Source of the defaults: local measurements in docs/messaging.md. */
export interface OrderWindowLimits {
  readonly minMs: number;
  readonly maxMs: number;
}

export const DEFAULT_ORDER_WINDOW: OrderWindowLimits = { minMs: 20, maxMs: 5000 };

/**
 * The sequencer's reorder window limits (`SEND_ORDER_WINDOW_MIN_MS`, `SEND_ORDER_WINDOW_MAX_MS`, ms);
 * unset variables take the defaults, invalid ones fail fast.
 */
export function readOrderWindowLimits(env: NodeJS.ProcessEnv): OrderWindowLimits {
  return {
    minMs: positive(env, 'SEND_ORDER_WINDOW_MIN_MS', DEFAULT_ORDER_WINDOW.minMs),
    maxMs: positive(env, 'SEND_ORDER_WINDOW_MAX_MS', DEFAULT_ORDER_WINDOW.maxMs),
  };
}
