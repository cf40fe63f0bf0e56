import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningEngine } from './process.js';

export interface SupervisedEngine extends RunningEngine {
  /** The engine's current process id (a restart changes it). */
  readonly pid: number;
  /** Times the engine was restarted after dying. */
  readonly restarts: number;
}

export interface SuperviseOptions {
  /** Starts the engine on a port (the first start's port on every restart, so endpoints stay valid). */
  readonly start: (port: number | undefined) => Promise<RunningEngine>;
  /** Runs after a restart, before the engine counts as back (e.g. re-creating in-memory queues). */
  readonly afterRestart?: (engine: RunningEngine) => Promise<void>;
  /** Where to say that the engine died and came back; stderr by default. */
  readonly log?: (line: string) => void;
  /** First wait before a restart; it doubles after each failed start, up to 30 s. */
  readonly initialBackoffMs?: number;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * Keeps an engine running: when its process dies while in use (killed, crashed, out of memory), it is
 * started again on the same port, with the same data, with a growing wait between failed starts. A
 * stop() ends the supervision first, so a deliberate stop is never undone. Written here because the
 * engines are plain child processes of this runtime, with no service manager to lean on.
 */
export async function supervise(options: SuperviseOptions): Promise<SupervisedEngine> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let current = await options.start(undefined);
  const port = current.port;
  let stopping = false;
  let restarts = 0;
  let revived: Promise<void> = Promise.resolve();
  const stopped = new AbortController();

  const watch = (engine: RunningEngine) => {
    void engine.exited.then((why) => {
      if (stopping || engine !== current) return;
      revived = revive(why);
    });
  };
  const revive = async (why: string) => {
    log(`[engines] ${current.name} ${why}; restarting it on port ${port}`);
    let wait = options.initialBackoffMs ?? 1_000;
    while (!stopping) {
      try {
        const next = await options.start(port);
        if (stopping) {
          await next.stop();
          return;
        }
        await options.afterRestart?.(next);
        current = next;
        restarts++;
        log(`[engines] ${next.name} is back (pid ${next.pid}, restart ${restarts})`);
        watch(next);
        return;
      } catch (err) {
        log(
          `[engines] ${current.name} did not restart (${(err as Error).message.split('\n')[0]}); next try in ${wait} ms`,
        );
        await sleep(wait, undefined, { signal: stopped.signal }).catch(() => undefined);
        wait = Math.min(MAX_BACKOFF_MS, wait * 2);
      }
    }
  };
  watch(current);

  return {
    get name() {
      return current.name;
    },
    endpoint: current.endpoint,
    port,
    get pid() {
      return current.pid;
    },
    get startupMs() {
      return current.startupMs;
    },
    get restarts() {
      return restarts;
    },
    get exited() {
      return current.exited;
    },
    recentOutput: () => current.recentOutput(),
    stop: async () => {
      stopping = true;
      stopped.abort();
      await revived;
      await current.stop();
    },
  };
}
