// Progress of a long first-time fetch or build (a Maven resolve, a download, a cargo build), so that a
// newcomer never stares at a silent terminal for minutes.
import type { Log } from './log.js';

/** Reports what a long step is doing, throttled; says "still working" when the step goes quiet. */
export interface Progress {
  /** The latest status; logged at once if nothing was logged for `everyMs`, else kept for later. */
  update(status: string): void;
  /** Logs the final line (with the elapsed time) and stops the heartbeat. */
  done(status?: string): void;
}

/**
 * Starts reporting progress of `label` through `log`: at most one line per `everyMs` (default 5 s),
 * and a heartbeat with the elapsed time when no new status arrived for `quietMs` (default 15 s).
 */
export function startProgress(
  log: Log,
  label: string,
  options: { everyMs?: number; quietMs?: number } = {},
): Progress {
  const everyMs = options.everyMs ?? 5_000;
  const quietMs = options.quietMs ?? 15_000;
  const startedAt = Date.now();
  let lastLoggedAt = startedAt;
  let pending: string | undefined;
  let last = 'started';
  const elapsed = () => `${Math.round((Date.now() - startedAt) / 1000)} s`;
  const emit = (status: string) => {
    lastLoggedAt = Date.now();
    pending = undefined;
    log(`${label}: ${status} (${elapsed()})`);
  };
  const timer = setInterval(() => {
    if (pending !== undefined && Date.now() - lastLoggedAt >= everyMs) emit(pending);
    else if (Date.now() - lastLoggedAt >= quietMs) emit(`still working, last: ${last}`);
  }, 1_000);
  // A heartbeat must never keep a finished process alive.
  timer.unref();
  return {
    update(status) {
      last = status;
      if (Date.now() - lastLoggedAt >= everyMs) emit(status);
      else pending = status;
    },
    done(status = 'done') {
      clearInterval(timer);
      emit(status);
    },
  };
}
