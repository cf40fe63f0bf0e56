// Counts the AWS SDK requests of every client in this process, by command: the runtime's own (pollers,
// fronts) here, and those of the local functions, each in its own worker thread, through the reports of
// thread-probe.ts. Wrapping the shared base client's `send` is the one point every client of a thread
// goes through; a middleware would have to be added to each client, including those the runtime creates.
import { createRequire } from 'node:module';
import { onThreadReport } from './thread-reports.js';

type Send = (this: unknown, command: { constructor: { name: string } }, ...rest: unknown[]) => unknown;
const { Client } = createRequire(import.meta.url)('@smithy/core/client') as {
  Client: { prototype: { send: Send } };
};

/** Requests per command name since the last `reset()`. */
export class SdkRequestCounter {
  private readonly counts = new Map<string, number>();
  private installed = false;

  install(): void {
    if (this.installed) return;
    this.installed = true;
    const counts = this.counts;
    const original = Client.prototype.send;
    Client.prototype.send = function (this: unknown, command, ...rest) {
      const name = command.constructor.name.replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return original.call(this, command, ...rest);
    };
    // The local functions' threads count their own (thread-probe.ts).
    onThreadReport((r) => {
      if (r.kind === 'sdk') counts.set(r.command, (counts.get(r.command) ?? 0) + 1);
    });
  }

  reset(): void {
    this.counts.clear();
  }

  /** Requests by command, and their total. */
  snapshot(): { total: number; byCommand: Record<string, number> } {
    const byCommand = Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
    return { total: [...this.counts.values()].reduce((a, b) => a + b, 0), byCommand };
  }
}
