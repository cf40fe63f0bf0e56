import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RATE_LIMITS,
  RATE_LIMIT_ENV,
  type RateLimits,
  rateLimitEnvironment,
  readRateLimits,
} from '#shared/config/rate-limits.js';

describe('reading rate limits from the environment', () => {
  it('takes the defaults when nothing is set', () => {
    expect(readRateLimits({})).toEqual({
      send: { ratePerSecond: 5, burst: 20 },
      frames: { ratePerSecond: 10, burst: 50 },
    });
    expect(readRateLimits({})).toEqual(DEFAULT_RATE_LIMITS);
  });

  it('treats empty variables as unset', () => {
    const env = Object.fromEntries(Object.values(RATE_LIMIT_ENV).map((name) => [name, '']));
    expect(readRateLimits(env)).toEqual(DEFAULT_RATE_LIMITS);
  });

  it('takes each limit from its own variable', () => {
    expect(
      readRateLimits({
        SEND_RATE_PER_SECOND: '2.5',
        SEND_BURST: '7',
        FRAME_RATE_PER_SECOND: '40',
        FRAME_BURST: '120',
      }),
    ).toEqual({ send: { ratePerSecond: 2.5, burst: 7 }, frames: { ratePerSecond: 40, burst: 120 } });
    expect(readRateLimits({ FRAME_BURST: '9' })).toEqual({
      send: DEFAULT_RATE_LIMITS.send,
      frames: { ratePerSecond: 10, burst: 9 },
    });
  });

  it('rounds a fractional burst down, to at least one', () => {
    expect(readRateLimits({ SEND_BURST: '4.9', FRAME_BURST: '0.3' })).toMatchObject({
      send: { burst: 4 },
      frames: { burst: 1 },
    });
  });

  it('fails fast on invalid values, naming the variable', () => {
    for (const name of Object.values(RATE_LIMIT_ENV)) {
      for (const raw of ['0', '-3', 'abc', 'Infinity', 'NaN', '10/s']) {
        expect(() => readRateLimits({ [name]: raw }), `${name}=${raw}`).toThrow(
          `${name} must be a positive number, got "${raw}"`,
        );
      }
    }
  });

  it('reads back exactly the limits written by rateLimitEnvironment', () => {
    const limits: RateLimits = {
      send: { ratePerSecond: 0.5, burst: 3 },
      frames: { ratePerSecond: 25, burst: 80 },
    };
    const env = rateLimitEnvironment(limits);
    expect(Object.keys(env).sort()).toEqual(Object.values(RATE_LIMIT_ENV).sort());
    expect(readRateLimits(env)).toEqual(limits);
  });
});
