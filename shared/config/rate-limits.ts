/**
 * Token-bucket settings: `ratePerSecond` tokens are added each second up to `burst`; each request takes
 * one. Set per stage in the CDK app (`infra/stage.ts`) and handed to functions as environment variables.
 */
export interface RateLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export interface RateLimits {
  /** Per user, across all their connections and HTTP: `sendMessage` and `POST .../messages`. */
  readonly send: RateLimit;
  /** Per WebSocket connection: `typing`, `markRead` and `sync` frames. */
  readonly frames: RateLimit;
}

/**
 * Defaults: 5 messages/s sustained with bursts of 20 per user; 10 other frames/s, bursts of 50, per
 * connection. Five a second across all of a user's conversations is far above what a person types and
 * still five times Slack's posting limit of about one message a second per channel with short bursts
 * (https://api.slack.com/docs/rate-limits); every accepted message costs the whole pipeline (sequencer,
 * fan-out, index), so this budget is what one sender can take from everyone else.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  send: { ratePerSecond: 5, burst: 20 },
  frames: { ratePerSecond: 10, burst: 50 },
};

/** The environment variables that carry the limits (the local runtime also takes them from its own environment). */
export const RATE_LIMIT_ENV = {
  sendRate: 'SEND_RATE_PER_SECOND',
  sendBurst: 'SEND_BURST',
  framesRate: 'FRAME_RATE_PER_SECOND',
  framesBurst: 'FRAME_BURST',
} as const;

/** Turns limits into their environment variables. */
export function rateLimitEnvironment(limits: RateLimits): Record<string, string> {
  return {
    [RATE_LIMIT_ENV.sendRate]: String(limits.send.ratePerSecond),
    [RATE_LIMIT_ENV.sendBurst]: String(limits.send.burst),
    [RATE_LIMIT_ENV.framesRate]: String(limits.frames.ratePerSecond),
    [RATE_LIMIT_ENV.framesBurst]: String(limits.frames.burst),
  };
}

/** A variable that must be set (non-empty); throws with its name otherwise. */
export function required(name: string, env: NodeJS.ProcessEnv): string {
  const value = env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}

/** A positive number from an environment variable; unset takes `fallback`, anything else throws. */
export function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

/** Reads the limits from an environment; unset variables take the defaults, invalid ones fail fast. */
export function readRateLimits(env: NodeJS.ProcessEnv): RateLimits {
  const d = DEFAULT_RATE_LIMITS;
  return {
    send: {
      ratePerSecond: positive(env, RATE_LIMIT_ENV.sendRate, d.send.ratePerSecond),
      burst: Math.max(1, Math.floor(positive(env, RATE_LIMIT_ENV.sendBurst, d.send.burst))),
    },
    frames: {
      ratePerSecond: positive(env, RATE_LIMIT_ENV.framesRate, d.frames.ratePerSecond),
      burst: Math.max(1, Math.floor(positive(env, RATE_LIMIT_ENV.framesBurst, d.frames.burst))),
    },
  };
}
