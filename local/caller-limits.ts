import PQueue from 'p-queue';

/**
 * Invocations one caller may have running at once through a local front (`LOCAL_CALLER_CONCURRENCY`,
 * default 2); the caller's further requests wait in arrival order.
 *
 * Why the local runtime needs it: on AWS every invocation gets an execution environment of its own and
 * Lambda scales out, so a caller that keeps a hundred requests in flight uses a hundred environments and
 * takes nothing from anyone else. Here every function shares the machine's few cores, so a caller with
 * requests always in flight (a flood that retries each refusal at once) would hold as many cores as it
 * has requests, and everyone else's latency would grow with its concurrency. Capping each caller's
 * running invocations bounds what one caller takes to about that many cores, whatever it sends.
 */
export const CALLER_CONCURRENCY = Math.max(1, Number(process.env.LOCAL_CALLER_CONCURRENCY ?? 2));

/**
 * Requests one caller may start per second through a local front (`LOCAL_CALLER_RATE`, default 50;
 * `Infinity` for none), in any rolling second; the rest wait their turn. Two running at a time still
 * let a flood whose refusals cost a few milliseconds each start two hundred a second, which is most of
 * a core of this machine's work on top of the refused requests' own queueing; fifty a second is more
 * than a client within the product's limits sends (5 messages and 10 other frames a second per
 * connection), so only a flood waits on it.
 */
export const CALLER_RATE = Math.max(1, Number(process.env.LOCAL_CALLER_RATE ?? 50));

/**
 * Requests one caller may have waiting before a front refuses the next at once (429 `throttled`), so a
 * flood cannot grow the queue without bound (`LOCAL_CALLER_QUEUE`, default 1,000).
 */
export const CALLER_QUEUE = Math.max(0, Number(process.env.LOCAL_CALLER_QUEUE ?? 1000));

/**
 * Per-caller admission for a local front: at most `concurrency` running and `ratePerSecond` started in
 * any rolling second, up to `queue` waiting, in arrival order.
 */
export class CallerLimits {
  // p-queue keeps each caller's running count, rate window and FIFO queue; a caller's entry goes when
  // its queue is idle (a caller back after that starts a fresh window).
  private readonly callers = new Map<string, PQueue>();

  constructor(
    private readonly concurrency = CALLER_CONCURRENCY,
    private readonly queue = CALLER_QUEUE,
    private readonly ratePerSecond = CALLER_RATE,
  ) {}

  /**
   * Runs `work` when the caller has a free slot within its rate. Returns undefined, running nothing,
   * when the caller already has `queue` requests waiting.
   */
  run<T>(caller: string, work: () => Promise<T>): Promise<T> | undefined {
    let own = this.callers.get(caller);
    if (!own) {
      const created = new PQueue({
        concurrency: this.concurrency,
        ...(Number.isFinite(this.ratePerSecond)
          ? { intervalCap: Math.ceil(this.ratePerSecond), interval: 1000, strict: true }
          : {}),
      });
      created.on('idle', () => {
        if (this.callers.get(caller) === created) this.callers.delete(caller);
      });
      this.callers.set(caller, created);
      own = created;
    }
    // Refused only when this request would wait (no free slot, or the rate used up) behind a full queue.
    const wouldWait = own.pending >= this.concurrency || own.isRateLimited || own.size > 0;
    if (wouldWait && own.size >= this.queue) return undefined;
    return own.add(work);
  }

  /** Callers with requests running or waiting (for tests and diagnostics). */
  get size(): number {
    return this.callers.size;
  }
}
