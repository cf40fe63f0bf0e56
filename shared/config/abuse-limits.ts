import { positive, type RateLimit } from './rate-limits.js';

/**
 * Limits that keep one user (or one source address) from degrading the service for everyone else.
 * Token buckets use the same GCRA repository as the send limit (`shared/data/rate-limits-repo.ts`).
 * Set per stage in the CDK app and handed to functions as environment variables; docs/abuse-limits.md
 * explains each one.
 */
export interface AbuseLimits {
  /** Login attempts per username (every attempt counts, so a password cannot be guessed quickly). */
  readonly loginPerUsername: RateLimit;
  /** Login attempts per source address, across usernames. */
  readonly loginPerSource: RateLimit;
  /** Password hashes (scrypt) computed at once per process; more wait in a short queue. */
  readonly hashConcurrency: number;
  /** Password hashes allowed to wait; past it a request is refused at once with 429 `throttled`. */
  readonly hashQueue: number;
  /** Pending outgoing friend requests one user may have. */
  readonly pendingFriendRequests: number;
  /** Groups one user may create (a bucket: `burst` at once, refilled at `ratePerSecond`). */
  readonly groupsCreated: RateLimit;
  /** Users who are not the inviter's friends that one user may add to groups per hour (creation or add). */
  readonly nonFriendInvitesPerHour: number;
  /**
   * WebSocket connects per user (`$connect`), whatever became of the sockets: a loop that opens and
   * drops sockets never reaches the connection cap, yet each connect costs the authorizer, `$connect`
   * and `$disconnect` their work.
   */
  readonly connects: RateLimit;
}

const HOUR = 3600;

/**
 * Defaults: 10 login attempts per username then 1 per 30 s; 20 per source then 1/s; 2 hashes at once
 * (half of libuv's default pool of 4, which file and DNS work share) with 256 waiting for at
 * most 3 s; 100 pending outgoing requests; 20 groups per hour; 200 non-friend invitations per
 * hour (a fixed window); 20 connects per user at once, then 1/s (every tab of a user at its connection
 * cap of 10 reconnecting twice after a network drop fits the burst; the SDK's backoff, 0.5 s doubling
 * up to 30 s, stays far below the rate).
 */
export const DEFAULT_ABUSE_LIMITS: AbuseLimits = {
  loginPerUsername: { ratePerSecond: 1 / 30, burst: 10 },
  loginPerSource: { ratePerSecond: 1, burst: 20 },
  hashConcurrency: 2,
  hashQueue: 256,
  pendingFriendRequests: 100,
  groupsCreated: { ratePerSecond: 20 / HOUR, burst: 20 },
  nonFriendInvitesPerHour: 200,
  connects: { ratePerSecond: 1, burst: 20 },
};

/** The environment variables that carry the limits; the local runtime passes its own values through. */
export const ABUSE_LIMIT_ENV = {
  loginPerUsernameRate: 'LOGIN_USERNAME_RATE_PER_SECOND',
  loginPerUsernameBurst: 'LOGIN_USERNAME_BURST',
  loginPerSourceRate: 'LOGIN_SOURCE_RATE_PER_SECOND',
  loginPerSourceBurst: 'LOGIN_SOURCE_BURST',
  hashConcurrency: 'PASSWORD_HASH_CONCURRENCY',
  hashQueue: 'PASSWORD_HASH_QUEUE',
  pendingFriendRequests: 'MAX_PENDING_FRIEND_REQUESTS',
  groupsRate: 'GROUPS_PER_SECOND',
  groupsBurst: 'GROUPS_BURST',
  invitesPerHour: 'NON_FRIEND_INVITES_PER_HOUR',
  connectsRate: 'CONNECT_RATE_PER_SECOND',
  connectsBurst: 'CONNECT_BURST',
} as const;

/** Turns limits into their environment variables. */
export function abuseLimitEnvironment(limits: AbuseLimits): Record<string, string> {
  const e = ABUSE_LIMIT_ENV;
  return {
    [e.loginPerUsernameRate]: String(limits.loginPerUsername.ratePerSecond),
    [e.loginPerUsernameBurst]: String(limits.loginPerUsername.burst),
    [e.loginPerSourceRate]: String(limits.loginPerSource.ratePerSecond),
    [e.loginPerSourceBurst]: String(limits.loginPerSource.burst),
    [e.hashConcurrency]: String(limits.hashConcurrency),
    [e.hashQueue]: String(limits.hashQueue),
    [e.pendingFriendRequests]: String(limits.pendingFriendRequests),
    [e.groupsRate]: String(limits.groupsCreated.ratePerSecond),
    [e.groupsBurst]: String(limits.groupsCreated.burst),
    [e.invitesPerHour]: String(limits.nonFriendInvitesPerHour),
    [e.connectsRate]: String(limits.connects.ratePerSecond),
    [e.connectsBurst]: String(limits.connects.burst),
  };
}

const whole = (n: number) => Math.max(1, Math.floor(n));

/** Reads the limits from an environment; unset variables take the defaults, invalid ones fail fast. */
export function readAbuseLimits(env: NodeJS.ProcessEnv): AbuseLimits {
  const d = DEFAULT_ABUSE_LIMITS;
  const e = ABUSE_LIMIT_ENV;
  const bucket = (rate: string, burst: string, fallback: RateLimit): RateLimit => ({
    ratePerSecond: positive(env, rate, fallback.ratePerSecond),
    burst: whole(positive(env, burst, fallback.burst)),
  });
  return {
    loginPerUsername: bucket(e.loginPerUsernameRate, e.loginPerUsernameBurst, d.loginPerUsername),
    loginPerSource: bucket(e.loginPerSourceRate, e.loginPerSourceBurst, d.loginPerSource),
    hashConcurrency: whole(positive(env, e.hashConcurrency, d.hashConcurrency)),
    hashQueue: whole(positive(env, e.hashQueue, d.hashQueue)),
    pendingFriendRequests: whole(positive(env, e.pendingFriendRequests, d.pendingFriendRequests)),
    groupsCreated: bucket(e.groupsRate, e.groupsBurst, d.groupsCreated),
    nonFriendInvitesPerHour: whole(positive(env, e.invitesPerHour, d.nonFriendInvitesPerHour)),
    connects: bucket(e.connectsRate, e.connectsBurst, d.connects),
  };
}
