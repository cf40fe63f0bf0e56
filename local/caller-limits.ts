import pLimit, { type LimitFunction } from 'p-limit';

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
 * Requests one caller may have waiting before a front refuses the next at once (429 `throttled`), so a
 * flood cannot grow the queue without bound (`LOCAL_CALLER_QUEUE`, default 1,000).
 */
export const CALLER_QUEUE = Math.max(0, Number(process.env.LOCAL_CALLER_QUEUE ?? 1000));

/** Per-caller admission for a local front: at most `concurrency` running, up to `queue` waiting, in order. */
export class CallerLimits {
  // p-limit keeps each caller's running count and FIFO queue; a caller's entry goes when it is idle.
  private readonly callers = new Map<string, LimitFunction>();

  constructor(
    private readonly concurrency = CALLER_CONCURRENCY,
    private readonly queue = CALLER_QUEUE,
  ) {}

  /**
   * Runs `work` when the caller has a free slot. Returns undefined, running nothing, when the caller
   * already has `queue` requests waiting.
   */
  run<T>(caller: string, work: () => Promise<T>): Promise<T> | undefined {
    let limit = this.callers.get(caller);
    if (!limit) {
      limit = pLimit(this.concurrency);
      this.callers.set(caller, limit);
    }
    if (limit.activeCount >= this.concurrency && limit.pendingCount >= this.queue) return undefined;
    const own = limit;
    return own(work).finally(() => {
      // p-limit counts the run as done a few microtasks after its promise settles: look once it has.
      setImmediate(() => {
        if (own.activeCount === 0 && own.pendingCount === 0 && this.callers.get(caller) === own)
          this.callers.delete(caller);
      });
    });
  }

  /** Callers with requests running or waiting (for tests and diagnostics). */
  get size(): number {
    return this.callers.size;
  }
}
