// The token bucket against the local DynamoDB engine of the test run, with the clock injected.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ddb } from '#shared/clients/dynamodb.js';
import { config } from '#shared/config/env.js';
import type { RateLimit } from '#shared/config/rate-limits.js';
import { type TakeResult, takeToken } from '#shared/data/rate-limits-repo.js';
import { unique } from '../support/tables.js';

/** A clock the test moves by hand. */
function clock(start = 1_767_225_600_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** Takes tokens one after another until the first refusal; returns how many passed and the refusal. */
async function drain(
  key: string,
  limit: RateLimit,
  now: () => number,
  max = 1000,
): Promise<{ allowed: number; refusal: TakeResult }> {
  for (let allowed = 0; allowed < max; allowed++) {
    const result = await takeToken(key, limit, { now });
    if (!result.allowed) return { allowed, refusal: result };
  }
  throw new Error(`no refusal after ${max} tokens`);
}

const bucket = (key: string) =>
  ddb.send(
    new GetCommand({ TableName: config().tables.rateLimits, Key: { bucketKey: key }, ConsistentRead: true }),
  );

describe('token bucket in DynamoDB', () => {
  it('lets exactly a burst through, then refuses with the wait for one token', async () => {
    const key = unique('burst#');
    const limit = { ratePerSecond: 10, burst: 5 };
    const t = clock();

    const { allowed, refusal } = await drain(key, limit, t.now);

    expect(allowed).toBe(5);
    expect(refusal).toEqual({ allowed: false, retryAfterMs: 100 });
  });

  it('gives tokens back at ratePerSecond as time passes', async () => {
    const key = unique('refill#');
    const limit = { ratePerSecond: 10, burst: 20 };
    const t = clock();
    expect((await drain(key, limit, t.now)).allowed).toBe(20);

    t.advance(100);
    expect((await drain(key, limit, t.now)).allowed).toBe(1);

    t.advance(350);
    expect((await drain(key, limit, t.now)).allowed).toBe(3);

    // A second later: ten tokens (rate 10/s), the bucket having been empty.
    t.advance(1000);
    const { allowed, refusal } = await drain(key, limit, t.now);
    expect(allowed).toBe(10);
    expect(refusal.allowed).toBe(false);
  });

  it('lets the next request through once retryAfterMs has passed, not before', async () => {
    const key = unique('retry#');
    const limit = { ratePerSecond: 3, burst: 2 };
    const t = clock();
    const { refusal } = await drain(key, limit, t.now);
    expect(refusal.allowed).toBe(false);
    const wait = (refusal as { retryAfterMs: number }).retryAfterMs;
    expect(wait).toBe(Math.ceil(1000 / 3));

    t.advance(wait - 2);
    expect((await takeToken(key, limit, { now: t.now })).allowed).toBe(false);
    t.advance(2);
    expect(await takeToken(key, limit, { now: t.now })).toEqual({ allowed: true });
    expect((await takeToken(key, limit, { now: t.now })).allowed).toBe(false);
  });

  it('refills an idle bucket to a full burst and no further', async () => {
    const key = unique('idle#');
    const limit = { ratePerSecond: 5, burst: 8 };
    const t = clock();
    expect((await drain(key, limit, t.now)).allowed).toBe(8);

    t.advance(60 * 60 * 1000);

    expect((await drain(key, limit, t.now)).allowed).toBe(8);
  });

  it('refusals write nothing', async () => {
    const key = unique('nowrite#');
    const limit = { ratePerSecond: 10, burst: 3 };
    const t = clock();
    await drain(key, limit, t.now);
    const before = (await bucket(key)).Item;

    for (let i = 0; i < 5; i++) expect((await takeToken(key, limit, { now: t.now })).allowed).toBe(false);

    expect((await bucket(key)).Item).toEqual(before);
    expect(before).toMatchObject({ bucketKey: key, tat: t.now() + 300, expiresAt: expect.any(Number) });
  });

  it('refuses a request it can already be sure of without a request to the table', async () => {
    const key = unique('memo#');
    const limit = { ratePerSecond: 10, burst: 3 };
    const t = clock();
    await drain(key, limit, t.now);
    let requests = 0;
    const counting = {
      send: (command: never) => {
        requests++;
        return ddb.send(command);
      },
    } as unknown as typeof ddb;

    for (let i = 0; i < 5; i++) {
      expect(await takeToken(key, limit, { now: t.now, client: counting })).toEqual({
        allowed: false,
        retryAfterMs: 100,
      });
    }
    expect(requests).toBe(0);
    t.advance(100);
    expect(await takeToken(key, limit, { now: t.now, client: counting })).toEqual({ allowed: true });
    expect(requests).toBe(1);
  });

  it('allows exactly a burst of 50 concurrent takes on one fresh key', async () => {
    const key = unique('parallel#');
    const limit = { ratePerSecond: 1, burst: 20 };
    const t = clock();

    const results = await Promise.all(
      Array.from({ length: 50 }, () => takeToken(key, limit, { now: t.now })),
    );

    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    expect(results.filter((r) => !r.allowed)).toHaveLength(30);
    // After the burst, the next token is due one interval on.
    const refused = await takeToken(key, limit, { now: t.now });
    expect(refused).toEqual({ allowed: false, retryAfterMs: 1000 });
  });

  it('keeps exact counts under concurrency as the clock moves between waves', async () => {
    const key = unique('waves#');
    const limit = { ratePerSecond: 10, burst: 10 };
    const t = clock();
    const wave = () => Promise.all(Array.from({ length: 25 }, () => takeToken(key, limit, { now: t.now })));

    const first = await wave();
    t.advance(500);
    const second = await wave();

    expect(first.filter((r) => r.allowed)).toHaveLength(10);
    expect(second.filter((r) => r.allowed)).toHaveLength(5);
  });

  it('keeps buckets of different keys apart', async () => {
    const [a, b] = [unique('keyA#'), unique('keyB#')];
    const limit = { ratePerSecond: 10, burst: 4 };
    const t = clock();

    expect((await drain(a, limit, t.now)).allowed).toBe(4);

    expect((await drain(b, limit, t.now)).allowed).toBe(4);
    expect((await takeToken(a, limit, { now: t.now })).allowed).toBe(false);
  });
});
