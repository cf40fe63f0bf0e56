import { sequencerCounters } from '#shared/domain/sequencer.js';
import { onThreadReport } from './thread-reports.js';

type Counters = typeof sequencerCounters;
const fromThreads: Record<string, number> = {};
let listening = false;

/**
 * The sequencer's counters over this process's threads: its own module's and those the local
 * functions' threads report (thread-probe.ts), which have a module instance each. Call it once before
 * the work it measures, so no report is missed.
 */
export function sequencerTotals(): Counters {
  if (!listening) {
    listening = true;
    onThreadReport((r) => {
      if (r.kind === 'sequencer') fromThreads[r.counter] = (fromThreads[r.counter] ?? 0) + r.delta;
    });
  }
  const totals = { ...sequencerCounters };
  for (const key of Object.keys(totals) as Array<keyof Counters>) totals[key] += fromThreads[key] ?? 0;
  return totals;
}
