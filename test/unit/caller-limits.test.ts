import { describe, expect, it, vi } from 'vitest';
import { CallerLimits } from '../../local/caller-limits.js';

/** A piece of work that runs until `finish()` is called; `started` says whether it began. */
function gate() {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const state = { started: false, finish: () => finish() };
  return {
    state,
    work: async () => {
      state.started = true;
      await done;
      return 'ok';
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('per-caller admission of the local fronts', () => {
  it("runs a caller's requests a few at a time, in order, while another caller runs at once", async () => {
    const limits = new CallerLimits(2, 10);
    const flood = Array.from({ length: 5 }, () => gate());
    const running = flood.map((g) => limits.run('abuser', g.work));
    await tick();
    expect(flood.map((g) => g.state.started)).toEqual([true, true, false, false, false]);

    // Another caller is not queued behind the abuser's waiting requests.
    const quiet = gate();
    const quietRun = limits.run('bystander', quiet.work);
    await tick();
    expect(quiet.state.started).toBe(true);
    quiet.state.finish();
    await expect(quietRun).resolves.toBe('ok');

    // A slot that frees goes to the abuser's oldest waiting request.
    flood[1]?.state.finish();
    await tick();
    expect(flood.map((g) => g.state.started)).toEqual([true, true, true, false, false]);
    for (const g of flood) g.state.finish();
    await tick();
    for (const g of flood) g.state.finish();
    await expect(Promise.all(running)).resolves.toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('refuses at once past the queue bound, and forgets idle callers', async () => {
    const limits = new CallerLimits(1, 2);
    const held = Array.from({ length: 3 }, () => gate());
    const admitted = held.map((g) => limits.run('abuser', g.work));
    expect(admitted.every((p) => p !== undefined)).toBe(true);
    const refused = gate();
    expect(limits.run('abuser', refused.work)).toBeUndefined();
    expect(refused.state.started).toBe(false);

    for (let i = 0; i < 3; i++) {
      for (const g of held) g.state.finish();
      await tick();
    }
    await Promise.all(admitted);
    await tick();
    expect(limits.size).toBe(0);
  });

  it("starts no more of a caller's requests than its rate in any rolling second", async () => {
    vi.useFakeTimers();
    try {
      const limits = new CallerLimits(10, 100, 3);
      const starts: number[] = [];
      const runs = Array.from({ length: 7 }, () =>
        limits.run('abuser', async () => {
          starts.push(Date.now());
        }),
      );
      const t0 = Date.now();
      await vi.advanceTimersByTimeAsync(0);
      // Three at once (the rate's worth), although ten could run.
      expect(starts).toHaveLength(3);
      // Another caller has a rate of its own.
      const quiet = vi.fn(async () => 'ok');
      await expect(limits.run('bystander', quiet)).resolves.toBe('ok');
      await vi.advanceTimersByTimeAsync(2_100);
      await Promise.all(runs);
      expect(starts).toHaveLength(7);
      const offsets = starts.map((t) => t - t0);
      // No rolling second holds more than three starts.
      for (const [i, t] of offsets.entries()) {
        expect(offsets.filter((u) => u >= t && u < t + 1000).length, `from start ${i}`).toBeLessThanOrEqual(
          3,
        );
      }
      expect(Math.max(...offsets)).toBeGreaterThanOrEqual(2000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('passes a failure through and frees the slot', async () => {
    const limits = new CallerLimits(1, 5);
    const failing = limits.run('a', async () => {
      throw new Error('boom');
    });
    const next = limits.run('a', async () => 'next');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
  });
});
