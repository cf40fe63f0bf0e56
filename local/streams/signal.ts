// A wake-up primitive for the stream trigger's loops (shard readers, lanes, discovery): wait with a timeout,
// woken early by a notify or by the triggers stopping.

/** A wake-up call: `wait()` returns on `notify()`, on timeout or when the triggers stop. */
export class Signal {
  private readonly wakers = new Set<() => void>();

  constructor(private readonly abort: AbortSignal) {}

  notify(): void {
    for (const wake of [...this.wakers]) wake();
  }

  wait(timeoutMs?: number): Promise<void> {
    if (this.abort.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        this.abort.removeEventListener('abort', done);
        resolve();
      };
      this.wakers.add(done);
      this.abort.addEventListener('abort', done, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(done, Math.max(0, timeoutMs));
    });
  }
}
