// The hold that keeps one user's frames in arrival order on their way to the queue, against the real engine.
import { describe, expect, it } from 'vitest';
import { admitFrame } from '#shared/domain/rate-limits.js';
import { unique } from '../support/tables.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('admitting a user’s frames in arrival order', () => {
  it('holds a later frame until the earlier one is released', async () => {
    const user = unique('order-');
    const t0 = Date.now();
    const releaseFirst = await admitFrame(user, t0, { maxWaitMs: 10_000 });
    const events: string[] = [];
    const second = admitFrame(user, t0 + 10, { maxWaitMs: 10_000 }).then((release) => {
      events.push('second admitted');
      return release;
    });
    await sleep(50);
    events.push('first released');
    await releaseFirst();
    const releaseSecond = await second;
    await releaseSecond();
    expect(events).toEqual(['first released', 'second admitted']);
  });

  it('does not hold a frame for a later one, or for frames of another user', async () => {
    const [user, other] = [unique('order-'), unique('order-')];
    const t0 = Date.now();
    const releaseLater = await admitFrame(user, t0 + 10, { maxWaitMs: 10_000 });
    const releaseOther = await admitFrame(other, t0 - 10, { maxWaitMs: 10_000 });
    // An earlier frame arriving second goes at once: only earlier frames are waited for.
    // (A wrong wait would run into the test's timeout.)
    const releaseEarlier = await admitFrame(user, t0, { maxWaitMs: 120_000 });
    await Promise.all([releaseLater(), releaseOther(), releaseEarlier()]);
  });

  it('stops waiting after the bound when an earlier frame never releases', async () => {
    const user = unique('order-');
    const t0 = Date.now();
    await admitFrame(user, t0, { maxWaitMs: 10_000 });
    const release = await admitFrame(user, t0 + 10, { maxWaitMs: 30 });
    await release();
    // A frame whose earlier hold is older than the stale bound does not wait at all.
    const releaseLate = await admitFrame(user, t0 + 60_000, { maxWaitMs: 120_000 });
    await releaseLate();
  });
});
